"""An Android device simulator behind the real adb server, for tests and demos.

It speaks the device side of the adb wire protocol on 127.0.0.1 (see
:mod:`~qwen_gui_agent.envs.android.simulator.wire`), so ``adb connect 127.0.0.1:PORT`` makes
it a device like any other: ``adb shell``, adbutils and :class:`AndroidEnv`
talk to it through the real adb server. Command lines go through a small
``sh`` (:mod:`~qwen_gui_agent.envs.android.simulator.shell`), so quoting mistakes show.

It renders a phone screen (a demo app with four buttons, a text field, a
long-press area and a scrollable list, a launcher, a navigation bar) that
reacts to ``input tap / swipe / text / keyevent``, ``monkey``, ``am start``
and the ADBKeyboard broadcast, and records every command it received::

    with AdbDeviceSimulator(width=1080, height=2400) as sim:
        sim.connect(adbutils.AdbClient(port=5037))   # adb connect 127.0.0.1:PORT
        device = adbutils.AdbClient(port=5037).device(sim.serial)
        device.click(800, 600)                         # button B of the demo app
        assert sim.screen.pressed == {"B": 1}
        assert sim.commands[-1] == "input tap 800 600"

Run one by hand with ``python -m qwen_gui_agent.envs.android.simulator`` (``--port``, ``--verbose``).
"""

from __future__ import annotations

import argparse
import base64
import copy
import io
import threading
import time
from typing import TYPE_CHECKING, Any

from qwen_gui_agent.envs.android.simulator import (
    commands as adb_sim_commands,
)
from qwen_gui_agent.envs.android.simulator import (
    screen as adb_sim_screen,
)
from qwen_gui_agent.envs.android.simulator.screen import (
    ADB_KEYBOARD,
    DEMO_ACTIVITY,
    LATIN_IME,
    Screen,
)
from qwen_gui_agent.envs.android.simulator.shell import SHELL, Shell
from qwen_gui_agent.envs.android.simulator.wire import (
    DeviceServer,
    ShellRequest,
    ShellResult,
)
from qwen_gui_agent.errors import EnvError, UsageError

if TYPE_CHECKING:
    from PIL.Image import Image


class AdbDeviceSimulator:
    """A fake Android phone reachable through ``adb connect 127.0.0.1:PORT``.

    Args:
        width, height: natural (portrait) panel size in pixels.
        rotation: 0..3, as Android's ``Surface.ROTATION_*``.
        adbkeyboard: whether the ADBKeyboard IME is installed.
        natural_screencap: ``screencap`` returns the panel unrotated (some
            devices do), instead of the image as the user sees it.
        port: TCP port to listen on (0 picks a free one).
        name: value of ``ro.product.model``.
        shell_v2: advertise adb's ``shell_v2`` feature (exit codes, separate
            stderr); False behaves like a device older than Android 7.
    """

    def __init__(self, width: int = 1080, height: int = 2400, *, rotation: int = 0,
                 adbkeyboard: bool = False, natural_screencap: bool = False,
                 density: int = 420, port: int = 0, name: str = "AdbDeviceSimulator",
                 shell_v2: bool = True) -> None:
        self.screen = Screen(width, height, rotation % 4)
        self.adbkeyboard = adbkeyboard
        self.natural_screencap = natural_screencap
        self.density = density
        self.shell_v2 = shell_v2
        self.properties = {
            "ro.product.model": name, "ro.product.name": "sim", "ro.product.device": "sim",
            "ro.product.manufacturer": "qwen-gui-agent", "ro.build.version.release": "14",
            "ro.build.version.sdk": "34", "ro.serialno": "SIM0001", "sys.boot_completed": "1",
        }
        self.settings: dict[str, dict[str, str]] = {
            "system": {"user_rotation": str(rotation % 4), "accelerometer_rotation": "0"},
            "secure": {"default_input_method": LATIN_IME,
                       "enabled_input_methods": LATIN_IME},
            "global": {},
        }
        self.commands: list[str] = []
        """Every shell command line received, exactly as sent."""
        self.services: list[str] = []
        """Every service the host opened (``shell,v2:...``, ``exec:...``, ``sync:``...)."""
        self._drop_next = 0
        self._lock = threading.RLock()
        self.files: dict[str, bytes] = {}
        """The simulated file system (written by ``>`` and ``screencap FILE``, read by ``cat``)."""
        self._server: DeviceServer | None = None
        self._port = port

    @property
    def sdk(self) -> int:
        """The simulated API level (``ro.build.version.sdk``); below 33 lacks ``input keycombination``."""
        return int(self.properties["ro.build.version.sdk"])

    # -- lifecycle -----------------------------------------------------------------
    def start(self) -> AdbDeviceSimulator:
        if self._server is None:
            features = ("shell_v2," if self.shell_v2 else "") + "cmd,stat_v2,ls_v2,fixed_push_mkdir"
            banner = ("device::" + "".join(f"{k}={self.properties[k]};" for k in
                      ("ro.product.name", "ro.product.model", "ro.product.device"))
                      + f"features={features}")
            self._server = DeviceServer(banner, self._handle, self.services.append, self._port)
            self._port = self._server.port  # a restart listens on the same port again
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def __enter__(self) -> AdbDeviceSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if not self._port:
            raise UsageError("the simulator is not started; call start() or use it in a with block")
        return self._port

    @property
    def serial(self) -> str:
        """The serial the adb server lists after ``adb connect``."""
        return f"127.0.0.1:{self.port}"

    def connect(self, client: Any, timeout: float = 10.0) -> str:
        """``adb connect`` this simulator with an ``adbutils.AdbClient``; wait until online."""
        client.connect(self.serial, timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if any(i.serial == self.serial and i.state == "device" for i in client.list()):
                return self.serial
            time.sleep(0.05)
        raise EnvError(f"the adb server did not bring {self.serial} online in {timeout} s")

    @property
    def connections(self) -> int:
        """How many transport connections adb servers opened since the last start."""
        return 0 if self._server is None else self._server.connections_accepted

    def threads(self) -> list[threading.Thread]:
        """The simulator's threads still alive (empty after ``stop``)."""
        return [] if self._server is None else self._server.threads()

    # -- fault injection -----------------------------------------------------------
    def kill_connection(self) -> int:
        """Cut the adb server's connection now, as a pulled cable would; return how many."""
        return 0 if self._server is None else self._server.kill_connections()

    def drop_next(self, count: int = 1) -> None:
        """Cut the connection instead of answering the next ``count`` commands."""
        self._drop_next = count

    @property
    def online(self) -> bool:
        return self._server is not None

    @online.setter
    def online(self, value: bool) -> None:
        """False: stop listening and cut the connection (a device gone for good, the
        port refuses); True: listen on the same port again."""
        if value:
            self.start()
        else:
            self.stop()

    # -- state helpers -------------------------------------------------------------
    def set_rotation(self, rotation: int) -> None:
        with self._lock:
            self.screen.rotation = rotation % 4
            self.settings["system"]["user_rotation"] = str(rotation % 4)

    @property
    def app(self) -> str:
        """The foreground activity, ``package/.Activity``."""
        return self.screen.foreground

    def render(self) -> Image:
        """The screen as the user sees it (logical orientation).

        Drawn from a snapshot, outside the lock: like a real device, a slow
        ``screencap`` does not hold up other commands.
        """
        with self._lock:
            screen = copy.deepcopy(self.screen)
        return adb_sim_screen.render(screen)

    def layout(self) -> dict[str, tuple[int, int, int, int]]:
        """Named regions of the demo app (left, top, right, bottom), logical pixels."""
        return adb_sim_screen.layout(*self.screen.logical_size)

    # -- the device ------------------------------------------------------------------
    def _handle(self, request: ShellRequest) -> ShellResult:
        with self._lock:
            self.commands.append(request.command)
            if self._drop_next > 0:
                self._drop_next -= 1
                self.kill_connection()
                return ShellResult()
        shell = Shell(self._run_command, files=self.files)  # adbd starts a new sh each time
        out, err, both = shell.run_interleaved(request.command)
        return ShellResult(out, err, shell.status, both)

    def _run_command(self, argv: list[str], stdin: bytes) -> tuple[bytes, bytes, int]:
        name = argv[0].rsplit("/", 1)[-1]
        handler = adb_sim_commands.COMMANDS.get(name)
        if handler is None:
            return b"", f"{SHELL}: {argv[0]}: inaccessible or not found\n".encode(), 127
        if name == "screencap":  # only reads the screen, through a snapshot
            result = handler(self, argv[1:])
        else:
            with self._lock:
                result = handler(self, argv[1:])
        if isinstance(result, tuple):
            return result
        return (result.encode() if isinstance(result, str) else result), b"", 0

    def screencap_png(self) -> bytes:
        image = self.render()
        if self.natural_screencap and self.screen.rotation:
            # Undo the rotation: the image as the panel scans it out.
            from PIL import Image as PILImage

            turn = {1: PILImage.Transpose.ROTATE_270, 2: PILImage.Transpose.ROTATE_180,
                    3: PILImage.Transpose.ROTATE_90}[self.screen.rotation]
            image = image.transpose(turn)
        buffer = io.BytesIO()
        image.save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()

    def type_text(self, text: str) -> None:
        """What a keyboard does with ``text`` in the focused field."""
        if self.screen.foreground == DEMO_ACTIVITY:
            self.screen.text += text

    def adbkeyboard_broadcast(self, action: str, extras: dict[str, str]) -> None:
        if not self.adbkeyboard or self.screen.ime != ADB_KEYBOARD:
            return
        if action == "ADB_INPUT_B64" and "msg" in extras:
            self.type_text(base64.b64decode(extras["msg"]).decode("utf-8"))
        elif action == "ADB_INPUT_TEXT" and "msg" in extras:
            self.type_text(extras["msg"])
        elif action == "ADB_CLEAR_TEXT":
            self.screen.text = ""


DEFAULT_PORT = 6520
"""Outside 5555-5585, the ports an adb server scans for emulators by itself: a simulator
there would show up twice (as ``emulator-5554`` and as ``127.0.0.1:5555``) on any adb server."""


def main(argv: list[str] | None = None) -> None:
    """Run a simulator until Ctrl-C; connect with ``adb connect 127.0.0.1:PORT``."""
    parser = argparse.ArgumentParser(prog="python -m qwen_gui_agent.envs.android.simulator",
                                     description=main.__doc__)
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--size", default="1080x2400", help="natural WIDTHxHEIGHT")
    parser.add_argument("--rotation", type=int, default=0, choices=range(4))
    parser.add_argument("--adbkeyboard", action="store_true", help="pretend ADBKeyboard is installed")
    parser.add_argument("--verbose", action="store_true",
                        help="print every shell command the device receives")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.size.lower().split("x"))
    with AdbDeviceSimulator(width, height, rotation=args.rotation, adbkeyboard=args.adbkeyboard,
                            port=args.port) as sim:
        print(f"simulator listening; run: adb connect {sim.serial}", flush=True)
        seen = 0
        try:
            while True:
                time.sleep(0.2)
                if args.verbose:
                    for command in sim.commands[seen:]:
                        print(f"$ {command}", flush=True)
                seen = len(sim.commands)
        except KeyboardInterrupt:
            pass
