"""Starting adb's own server: on demand for an env, or a private one beside a user's.

adbutils ships the ``adb`` binary; these helpers run its server so the real
client-server path stays in use, also with the device simulator.
"""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import TYPE_CHECKING

from qwen_gui_agent.errors import EnvError

if TYPE_CHECKING:
    from adbutils import AdbClient


ISOLATED_ADB_ENV = {"ADB_EMU": "0", "ADB_USB": "0", "ADB_MDNS": "0"}
"""Read by adb's server at start (adb ``client/main.cpp``): no scan of local ports
5555-5585 for emulators, no USB devices, no mDNS discovery. Such a server lists
only the devices ``adb connect`` gave it."""


def start_adb_server(port: int, timeout: float = 30.0, *, isolated: bool = False) -> None:
    """``adb -P PORT start-server`` (returns at once when one already runs there).

    ``isolated`` starts it with :data:`ISOLATED_ADB_ENV`: it then never picks up
    a user's emulators or phones, only the devices connected to it explicitly.
    """
    import adbutils

    env = {**os.environ, **ISOLATED_ADB_ENV} if isolated else None
    try:
        subprocess.run([adbutils.adb_path(), "-P", str(port), "start-server"],
                       check=True, capture_output=True, timeout=timeout, env=env)
    except (OSError, subprocess.SubprocessError) as error:
        raise EnvError(f"could not start an adb server on port {port}: {error}") from error


def answers(host: str, port: int, timeout: float = 1.0) -> bool:
    """Whether something accepts TCP connections at ``host:port``."""
    with socket.socket() as probe:
        probe.settimeout(timeout)
        return probe.connect_ex((host, port)) == 0


@contextmanager
def private_adb_server(timeout: float = 30.0) -> Iterator[AdbClient]:
    """An adb server on a free local port, killed (and waited for) on exit.

    A user's own server on 5037, and its devices, stay untouched: the
    simulator, tests, benchmarks and examples run against one of these.
    It is isolated: it sees only the devices connected to it (``adb connect``),
    never an emulator or phone of the user's. The client's ``port`` is the server's.
    """
    import adbutils

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    start_adb_server(port, timeout, isolated=True)
    client = adbutils.AdbClient(host="127.0.0.1", port=port, socket_timeout=timeout)
    try:
        yield client
    finally:
        with suppress(adbutils.AdbError, OSError):
            client.server_kill()
        deadline = time.monotonic() + 10
        while answers("127.0.0.1", port, 0.2) and time.monotonic() < deadline:
            time.sleep(0.05)
