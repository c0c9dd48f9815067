"""Starting and stopping Chromium for :class:`~qwen_gui_agent.envs.browser.env.BrowserEnv`.

Four jobs kept apart from the env itself: finding a Chromium binary (offline,
Playwright cannot download its own), sharing one Playwright driver per thread
(the sync API refuses a second one in the same thread, and tests or scripts
often hold two envs at once), finding the browser's processes so that a
crash is recognised and ``close()`` provably leaves nothing behind, and
keeping the throw-away profiles (cookies, history, saved logins) from
outliving the process that made them.

Profiles: ``close()`` deletes its profile, but a process killed outright
(SIGKILL, a power cut) runs no code. So every profile lives in one private
folder per user (:func:`profiles_root`, mode 0700) and carries its owner in
its name, ``p<pid>-<process start time>-<random>``; each new profile first
removes those whose owner is gone (:func:`remove_stale_profiles`), killing any
Chromium still using one. The start time tells a reused PID from the owner.
So a killed run's profile stays on disk only until the next browser env of
the same user starts (or the temp dir is cleared).
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import stat
import tempfile
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


# -- profiles ----------------------------------------------------------------------------

_PROFILE_NAME = re.compile(r"^p(\d+)-(\d+)-")


def profiles_root() -> Path:
    """This user's private folder of browser profiles, made on first use.

    It must be a real folder (not a link) owned by this user, and is kept at
    mode 0700: in a shared temp dir another user could otherwise plant it.
    """
    uid = os.getuid() if hasattr(os, "getuid") else None
    root = Path(tempfile.gettempdir()) / f"qwen-agent-chromium-{uid if uid is not None else 'user'}"
    try:
        root.mkdir(mode=0o700, exist_ok=True)
        info = root.lstat()
    except OSError as exc:
        raise EnvError(f"cannot make the browser profiles folder {root}: {exc.strerror or exc}") from exc
    if not stat.S_ISDIR(info.st_mode) or (uid is not None and info.st_uid != uid):
        raise EnvError(f"{root} is not a folder of this user's (a link, a file, or another user's); "
                       "remove it, or set TMPDIR to a private folder")
    if stat.S_IMODE(info.st_mode) != 0o700:
        root.chmod(0o700)
    return root


def new_profile() -> Path:
    """A fresh, empty profile folder owned by this process (stale ones are removed first)."""
    root = profiles_root()
    remove_stale_profiles(root)
    pid = os.getpid()
    return Path(tempfile.mkdtemp(prefix=f"p{pid}-{_start_time(pid) or 0}-", dir=root))


def remove_stale_profiles(root: Path | None = None) -> list[Path]:
    """Delete the profiles whose owning process is gone; return them.

    A Chromium still running on one (its owner was killed, it was not) is
    killed first, so it cannot write the folder back.
    """
    root = profiles_root() if root is None else root
    removed = []
    for path in sorted(root.iterdir()):
        match = _PROFILE_NAME.match(path.name)
        if match is None or _owner_alive(int(match.group(1)), int(match.group(2))):
            continue
        reap_profile(path, timeout=0)
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _start_time(pid: int) -> int | None:
    """When ``pid`` started (clock ticks since boot, /proc/PID/stat field 22); None without /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[-1].split()
    except OSError:
        return None
    return int(fields[19])


def _owner_alive(pid: int, started: int) -> bool:
    """Whether the process that made a profile still runs (a reused PID has another start time)."""
    if Path("/proc").is_dir():
        return _alive(pid) and _start_time(pid) == started
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
