"""A headless X display (Xvfb) to run a desktop agent, or its tests, without a screen.

    with VirtualDisplay(1366, 768) as vd, DesktopEnv(display=vd.display) as env:
        subprocess.Popen(["xterm"], env=vd.env)
        env.observe()

Nothing global changes: ``DISPLAY`` of this process is left alone, the display
name is chosen by Xvfb itself (``-displayfd``), so parallel runs never collide.

There is no window manager: windows appear where they ask to, undecorated, and
keyboard focus follows the pointer (X's default) unless an app takes it. An
agent clicks a field before typing into it anyway; test apps can call Tk's
``focus_force()`` (see ``tests/fixtures/tk_probe.py``).
"""

from __future__ import annotations

import os
import select
import shutil
import subprocess
import tempfile
import time
import weakref
from pathlib import Path

from qwen_gui_agent.envs.limits import check_screen_size
from qwen_gui_agent.envs.processes import stop_process
from qwen_gui_agent.errors import EnvError, UsageError

START_TIMEOUT_S = 10.0


class VirtualDisplay:
    """An Xvfb server with one screen of ``width`` x ``height`` pixels.

    Starts in the constructor; ``close()`` (or leaving the ``with`` block)
    stops it and reaps the process. Programs started on it with ``env=vd.env``
    lose their display and exit when it closes.
    """

    def __init__(self, width: int = 1366, height: int = 768, depth: int = 24,
                 extra_args: tuple[str, ...] = ()) -> None:
        check_screen_size(width, height, "a virtual display's size")
        if depth not in (8, 16, 24, 32):
            raise UsageError(f"depth must be 8, 16, 24 or 32, got {depth}")
        xvfb = shutil.which("Xvfb")
        if xvfb is None:
            raise EnvError("Xvfb is not installed; install it (Debian/Ubuntu: apt-get install xvfb)")
        self.width, self.height, self.depth = width, height, depth
        self._log = tempfile.TemporaryFile()
        read_end, write_end = os.pipe()
        try:
            self._process = subprocess.Popen(
                [xvfb, "-displayfd", str(write_end), "-screen", "0",
                 f"{width}x{height}x{depth}", "-nolisten", "tcp", *extra_args],
                pass_fds=(write_end,), stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=self._log,
            )
        finally:
            os.close(write_end)
        # Kill Xvfb even if the owner forgets close() (at garbage collection or exit).
        self._finalizer = weakref.finalize(self, _stop, self._process, self._log)
        try:
            number = self._read_display_number(read_end)
        except BaseException:
            self.close()
            raise
        finally:
            os.close(read_end)
        self.display = f":{number}"
        """The X display name, e.g. ``":3"``."""

    def _read_display_number(self, fd: int) -> int:
        """Read ``N\\n`` from Xvfb's -displayfd pipe.

        Xvfb may write the number and the newline in two writes: closing the
        pipe after the first one makes it die at start-up, so read to the newline.
        """
        data = b""
        deadline = time.monotonic() + START_TIMEOUT_S
        while not data.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
                raise EnvError(f"Xvfb did not start within {START_TIMEOUT_S:.0f} s{self._stderr_tail()}")
            chunk = os.read(fd, 64)
            if not chunk:
                self._process.wait(timeout=5)
                raise EnvError(
                    f"Xvfb exited at start-up with status {self._process.returncode}{self._stderr_tail()}"
                )
            data += chunk
        return int(data.strip())

    def _stderr_tail(self) -> str:
        self._log.seek(0)
        tail = self._log.read().decode(errors="replace").strip()[-500:]
        return f": {tail}" if tail else ""

    @property
    def env(self) -> dict[str, str]:
        """A copy of this process's environment with ``DISPLAY`` set to this display.

        Pass it as ``env=`` to ``subprocess`` to start programs on the display.
        """
        return {**os.environ, "DISPLAY": self.display}

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    @property
    def socket_path(self) -> Path:
        """The local socket clients connect to."""
        return Path("/tmp/.X11-unix") / f"X{self.display.lstrip(':')}"

    def close(self) -> None:
        """Stop Xvfb and reap it. Idempotent."""
        self._finalizer()

    def __enter__(self) -> VirtualDisplay:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"VirtualDisplay({self.width}x{self.height}x{self.depth}, display={getattr(self, 'display', None)!r}, {state})"


def _stop(process: subprocess.Popen[bytes], log: object) -> None:
    stop_process(process, timeout=5)
    log.close()  # type: ignore[attr-defined]
