"""Starting and stopping Chromium for :class:`~qwen_gui_agent.envs.browser.env.BrowserEnv`.

Three jobs kept apart from the env itself: finding a Chromium binary (offline,
Playwright cannot download its own), sharing one Playwright driver per thread
(the sync API refuses a second one in the same thread, and tests or scripts
often hold two envs at once), and finding the browser's processes so that a
crash is recognised and ``close()`` provably leaves nothing behind.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

from qwen_gui_agent.errors import EnvError

if TYPE_CHECKING:
    from playwright.sync_api import Playwright

CHROMIUM_ENV_VAR = "QWEN_AGENT_CHROMIUM"
"""Environment variable naming the Chromium / Chrome binary to use."""

CHROMIUM_CANDIDATES = (
    "/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome",
    "google-chrome-stable", "chrome",
)

LAUNCH_ARGS = (
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
)
"""DESIGN.md's flags; ``--headless`` comes from Playwright's own ``headless`` option."""


def find_chromium(executable_path: str | os.PathLike[str] | None = None) -> str | None:
    """The Chromium binary to launch, or None to let Playwright use its own download.

    Order: the explicit argument, ``$QWEN_AGENT_CHROMIUM``, then the usual system
    names on ``PATH``. An explicit path (argument or variable) that does not
    exist is an error rather than a silent fallback.
    """
    explicit = executable_path or os.environ.get(CHROMIUM_ENV_VAR)
    if explicit:
        found = shutil.which(str(explicit))
        if found is None:
            source = "executable_path" if executable_path else f"${CHROMIUM_ENV_VAR}"
            raise EnvError(f"{source} names {str(explicit)!r}, which is not an executable file")
        return found
    for name in CHROMIUM_CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


class _Driver:
    """One started Playwright driver and the number of envs using it."""

    def __init__(self, playwright: Playwright) -> None:
        self.playwright = playwright
        self.users = 0


_local = threading.local()


def acquire_playwright() -> Playwright:
    """This thread's Playwright driver, started on first use; pair with :func:`release_playwright`."""
    driver: _Driver | None = getattr(_local, "driver", None)
    if driver is None:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError as exc:
            raise EnvError(
                "the browser env needs Playwright: pip install 'qwen-gui-agent[browser]'"
            ) from exc
        try:
            driver = _Driver(sync_playwright().start())
        except Exception as exc:  # e.g. "using Playwright Sync API inside the asyncio loop"
            raise EnvError(f"could not start Playwright: {exc}") from exc
        _local.driver = driver
        _quiet_about_a_stopped_driver()
    driver.users += 1
    return driver.playwright


DRIVER_GONE = "Connection closed while reading from the driver"
"""What Playwright's transport raises (a plain ``Exception``) once its driver process is gone."""


class _StoppedDriverNoise(logging.Filter):
    """Drops asyncio's "Future exception was never retrieved" about a lost driver connection.

    A terminal's Ctrl-C reaches every process of the group, Playwright's node
    driver too, and its pending futures then fail with "Connection closed";
    the env already reports the loss (or the run was being interrupted), so the
    traceback that asyncio would print on top says nothing new.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        return exc is None or not str(exc).startswith(DRIVER_GONE)


def _quiet_about_a_stopped_driver() -> None:
    asyncio_log = logging.getLogger("asyncio")
    if not any(isinstance(f, _StoppedDriverNoise) for f in asyncio_log.filters):
        asyncio_log.addFilter(_StoppedDriverNoise())


def release_playwright() -> None:
    """Drop one use of this thread's driver; the last one stops it."""
    driver: _Driver | None = getattr(_local, "driver", None)
    if driver is None:
        return
    driver.users -= 1
    if driver.users <= 0:
        _local.driver = None
        driver.playwright.stop()


# -- processes -------------------------------------------------------------------------

def _cmdline(pid: int) -> list[str]:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return []
    return raw.decode(errors="replace").split("\0")


def _alive(pid: int) -> bool:
    """True for a running process; zombies (exited, not yet reaped) count as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def profile_processes(user_data_dir: Path) -> list[int]:
    """Live Chromium processes started with ``--user-data-dir=user_data_dir`` (Linux /proc).

    Chromium's child processes rewrite their command line into one
    space-separated string, so the flag is matched inside each argument.
    """
    marker = re.compile(re.escape(f"--user-data-dir={user_data_dir}") + r"(?= |$)")
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    pids = []
    for entry in proc.iterdir():
        if entry.name.isdigit():
            pid = int(entry.name)
            if any(marker.search(arg) for arg in _cmdline(pid)) and _alive(pid):
                pids.append(pid)
    return sorted(pids)


def browser_process(user_data_dir: Path) -> int | None:
    """The PID of the main browser process of this profile (the one without ``--type=``)."""
    for pid in profile_processes(user_data_dir):
        if not any("--type=" in arg for arg in _cmdline(pid)):
            return pid
    return None


def process_alive(pid: int | None) -> bool:
    """Whether ``pid`` is a live (non-zombie) process; None (unknown) counts as alive."""
    return True if pid is None or not Path("/proc").is_dir() else _alive(pid)


def reap_profile(user_data_dir: Path, timeout: float = 5.0) -> list[int]:
    """Wait for this profile's processes to exit, SIGKILL stragglers; return the killed PIDs."""
    deadline = time.monotonic() + timeout
    while profile_processes(user_data_dir) and time.monotonic() < deadline:
        time.sleep(0.05)
    killed = profile_processes(user_data_dir)
    for pid in killed:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    return killed
