"""Android through adb (adbutils, imported when an env is created).

Screenshots come from ``exec:screencap -p`` (raw, never through a pty); each
observation also reads ``wm size``, the rotation and the focused activity in
one shell call that runs alongside the screencap, and actions map their
screenshot pixels with that state (see
:class:`~qwen_gui_agent.envs.android.input.DisplayState`).

Decisions worth knowing:

- Click with ``count`` n sends n ``input tap`` in one shell call. Right and
  middle clicks raise :class:`UnsupportedAction` (a touch screen has one
  "button"; use ``long_press`` for context menus).
- Scroll is a 500 ms swipe against the scroll direction (``dy > 0`` moves the
  finger up), from (x, y) or the screen centre, ``|dy|`` / ``|dx|`` screenshot
  pixels long, cut at the screen edge.
- Text: printable ASCII goes through ``input text`` (spaces as ``%s``, shell
  quoted, literal ``%s`` split across calls), newlines and tabs as key
  events. Other text goes through the ADBKeyboard IME
  (``am broadcast -a ADB_INPUT_B64``), which the env enables and selects on
  first use and puts back on ``close()``; without it, an ActionError says how
  to install it. ``ime="adbkeyboard"`` sends all text that way,
  ``ime="input"`` never.
- Keys: one key is ``input keyevent``, a chord ``input keycombination``
  (Android 13+). ``home`` is the system Home key.
- OpenApp takes a package name or a label (see
  :func:`~qwen_gui_agent.envs.android.input.resolve_app`; ``apps={label:
  package}`` adds your own) and starts it with ``monkey -p PKG -c
  android.intent.category.LAUNCHER 1``. Navigate opens a URL with a VIEW intent.
- A failed adb call is retried once after reconnecting (``adb connect`` for
  ``host:port`` serials); a second failure raises :class:`EnvError`.
"""

from __future__ import annotations

import base64
import io
import os
import re
import shlex
import time
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TYPE_CHECKING, Any, Callable, TypeVar

from qwen_gui_agent.actions.observation import Observation
from qwen_gui_agent.envs.android import input as ai
from qwen_gui_agent.envs.android.adb_server import answers, start_adb_server
from qwen_gui_agent.envs.base import BaseEnv
from qwen_gui_agent.errors import ActionError, EnvError, UnsupportedAction, UsageError

if TYPE_CHECKING:
    pass

T = TypeVar("T")
ADB_KEYBOARD = "com.android.adbkeyboard/.AdbIME"
ADB_KEYBOARD_HELP = (
    "install the ADBKeyboard IME on the device (download ADBKeyboard.apk from "
    "https://github.com/senzhk/ADBKeyBoard/releases, then `adb install ADBKeyboard.apk`); "
    "the env enables and selects it by itself"
)
_STATE_COMMAND = (
    "wm size; dumpsys display | grep -E 'orientation=|Orientation='; "
    "dumpsys window | grep -E 'mCurrentFocus|mFocusedApp'"
)
_SCROLL_MS = 500
SERIAL = re.compile(r"^[A-Za-z0-9._:%\[\]-]{1,128}$")
"""What an adb serial looks like: ``emulator-5554``, ``R58M12ABC``, ``192.168.1.5:5555``,
``[fe80::1%wlan0]:5555``, ``adb-XYZ._adb-tls-connect._tcp``; never spaces or shell syntax."""


class _BadScreenshot(EnvError):
    """screencap returned something that is not a whole PNG (often a dropped link)."""


class AndroidEnv(BaseEnv):
    """An Android device (phone, emulator, or the simulator) driven through adb.

    Args:
        serial: device serial as ``adb devices`` lists it; None picks
            ``$ANDROID_SERIAL`` or the only device.
        adb_host, adb_port: the adb server (default ``$ANDROID_ADB_SERVER_HOST`` /
            ``$ANDROID_ADB_SERVER_PORT``, else 127.0.0.1:5037). When none answers
            on this machine, the env starts one (``adb -P PORT start-server``)
            and kills it on close.
        ime: ``"auto"``, ``"adbkeyboard"`` or ``"input"`` (see the module doc).
        apps: extra ``{label: package}`` names for OpenApp.
        timeout: seconds any one adb call may take.
    """

    kind = "android"

    def __init__(self, serial: str | None = None, *, adb_host: str | None = None,
                 adb_port: int | None = None, ime: str = "auto",
                 apps: dict[str, str] | None = None, timeout: float = 30.0) -> None:
        if ime not in ("auto", "adbkeyboard", "input"):
            raise UsageError(f"ime must be 'auto', 'adbkeyboard' or 'input', not {ime!r}")
        _check_options(serial, adb_port, timeout)
        try:
            import adbutils
        except ImportError as error:
            raise EnvError("the android env needs adbutils: pip install 'qwen-gui-agent[android]'") from error
        self._adbutils = adbutils
        self.ime, self.apps, self.timeout = ime, dict(apps or {}), timeout
        adb_host = adb_host or os.environ.get("ANDROID_ADB_SERVER_HOST") or "127.0.0.1"
        adb_port = adb_port or int(os.environ.get("ANDROID_ADB_SERVER_PORT") or 5037)
        self._client = adbutils.AdbClient(host=adb_host, port=adb_port, socket_timeout=timeout)
        self._owns_server = self._ensure_server(adb_host, adb_port)
        self._previous_ime: str | None = None
        self._state: ai.DisplayState | None = None
        self._shot_size: tuple[int, int] | None = None
        self._shell_v2: bool | None = None
        self._pool: ThreadPoolExecutor | None = None
        try:
            self.serial = self._choose(serial)
            self._device = self._client.device(self.serial)
            self.options: dict[str, Any] = {"serial": self.serial, "adb_host": adb_host,
                                            "adb_port": adb_port, "ime": ime}
        except BaseException:
            self._stop_server()
            raise

    # -- set-up ----------------------------------------------------------------------
    def _ensure_server(self, host: str, port: int) -> bool:
        """Start an adb server if none answers; True when this env started it."""
        if answers(host, port):
            return False
        if host not in ("127.0.0.1", "localhost"):
            raise EnvError(f"no adb server answers at {host}:{port}; start one there with "
                           f"`adb -P {port} start-server` or check adb_host/adb_port")
        start_adb_server(port)
        return True

    def _choose(self, serial: str | None) -> str:
        serial = serial or os.environ.get("ANDROID_SERIAL") or None
        try:
            infos = self._client.list()
        except self._adbutils.AdbError as error:
            raise EnvError(f"the adb server did not answer ({error}); run `adb devices` to check it") from error
        if serial is not None:
            if serial.count(":") == 1 and not any(i.serial == serial for i in infos):
                self._reconnect(serial)
                infos = self._client.list()
            state = next((i.state for i in infos if i.serial == serial), None)
            if state != "device":
                raise EnvError(f"Android device {serial!r} is {state or 'not connected'}; "
                               f"see `adb devices`" + _listing(infos))
            return serial
        ready = [i.serial for i in infos if i.state == "device"]
        if not ready:
            raise EnvError("no Android device is connected: plug one in with USB debugging on, "
                           "or `adb connect HOST:PORT`; `adb devices` lists them" + _listing(infos))
        if len(ready) > 1:
            raise UsageError(f"{len(ready)} Android devices are connected ({', '.join(ready)}); "
                             "choose one: AndroidEnv(serial=...), or --serial SERIAL")
        return ready[0]

    @property
    def device(self) -> Any:
        """The ``adbutils.AdbDevice``, for scripts that mix adb calls with agent steps."""
        return self._device

    # -- adb calls with one retry ------------------------------------------------------
    def _retrying(self, call: Callable[[], T]) -> T:
        dropped = (self._adbutils.AdbError, OSError, EOFError, _BadScreenshot)
        try:
            return call()
        except dropped:
            self._reconnect(self.serial)
        try:
            return call()
        except dropped as error:
            hint = (f"run `adb connect {self.serial}`" if self.serial.count(":") == 1
                    else "check the USB cable and that USB debugging is allowed")
            raise EnvError(f"lost the Android device {self.serial} ({error or type(error).__name__}); "
                           f"check `adb devices`, {hint}, then create the env again") from error

    def _reconnect(self, serial: str) -> None:
        try:
            if serial.count(":") == 1:
                answer = self._client.connect(serial, timeout=5)
                if answer.startswith(("failed", "unable", "cannot")):
                    return
            deadline = time.monotonic() + 3
            while time.monotonic() < deadline:
                if any(i.serial == serial and i.state == "device" for i in self._client.list()):
                    return
                time.sleep(0.1)
        except (self._adbutils.AdbError, OSError):
            pass  # the retry that follows reports the failure

    def shell(self, command: str, check: bool = True) -> str:
        """Run ``command`` in the device shell (retried once); return stdout+stderr.

        With ``check``, a non-zero exit status raises ActionError.
        """
        if self._shell_v2 is None:
            features = self._retrying(self._device.get_features)
            self._shell_v2 = "shell_v2" in features.split(",")
        v2 = self._shell_v2
        result = self._retrying(lambda: self._device.shell2(
            command, timeout=self.timeout, v2=v2, rstrip=True))
        if check and result.returncode != 0:
            raise ActionError(f"`{command}` failed on the device (exit {result.returncode}): "
                              f"{result.output.strip()[:500]}")
        return result.output

    def _screencap(self) -> bytes:
        with self._device.open_transport(timeout=self.timeout) as connection:
            connection.send_command("exec:screencap -p")
            connection.check_okay()
            data = connection.read_until_close(encoding=None)
        png = ai.extract_png(data)
        if png is None:
            raise _BadScreenshot(f"screencap gave no PNG: {data[:200]!r}")
        return png

    # -- BaseEnv -------------------------------------------------------------------------
    def _capture(self) -> Observation:
        from PIL import Image

        # The state query runs while screencap does: an observation costs about one
        # screencap, not two round trips.
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix=f"android-state-{self.serial}")
        pending = self._pool.submit(self._refresh_state)
        try:
            png = self._retrying(self._screencap)
        except BaseException:
            wait([pending])  # leave no adb call running behind the error
            raise
        app = pending.result()
        image = Image.open(io.BytesIO(png))
        image.load()
        if image.mode != "RGB":
            image = image.convert("RGB")
        self._shot_size = image.size
        state = self._state
        assert state is not None
        return Observation(image=image, env="android", app=app, extra={
            "serial": self.serial, "rotation": state.rotation,
            "display_size": list(state.logical_size)})

    def _refresh_state(self) -> str | None:
        output = self.shell(_STATE_COMMAND, check=False)
        size = ai.parse_wm_size(output)
        if size is None:
            raise EnvError(f"`wm size` gave no size on {self.serial}: {output[:200]!r}")
        self._state = ai.DisplayState(size[0], size[1], ai.parse_rotation(output))
        return ai.parse_foreground(output)

    def _screen_size(self) -> tuple[int, int]:
        if self._shot_size is None:
            self._refresh_state()
            assert self._state is not None
            return self._state.logical_size
        return self._shot_size

    def _point(self, x: float, y: float) -> tuple[int, int]:
        if self._state is None:
            self._refresh_state()
        assert self._state is not None
        width, height = self._shot_size or self._state.logical_size
        return self._state.to_input(x, y, width, height)

    def _close(self) -> None:
        try:
            if self._previous_ime is not None:  # no recorded IME ("null"): back to the system default
                self.shell(f"ime set {shlex.quote(self._previous_ime)}" if self._previous_ime
                           else "ime reset")
        except (ActionError, EnvError):
            pass  # the device is gone; nothing to restore
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._stop_server()

    def _stop_server(self) -> None:
        if self._owns_server:
            self._owns_server = False
            try:
                self._client.server_kill()
            except (self._adbutils.AdbError, OSError):
                pass

    # -- actions ---------------------------------------------------------------------------
    def _input(self, *commands: str) -> None:
        output = self.shell("; ".join(commands))
        if re.search(r"Exception|Error:", output):
            raise ActionError(f"the device rejected `{commands[0]}`: {output.strip()[:500]}")

    def _do_click(self, action: Any) -> dict[str, Any]:
        if action.button != "left":
            raise UnsupportedAction(f"a touch screen has no {action.button} button; "
                                    "use long_press for a context menu")
        x, y = self._point(action.x, action.y)
        self._input(*[f"input tap {x} {y}"] * action.count)
        return {"input_point": [x, y]}

    def _do_long_press(self, action: Any) -> dict[str, Any]:
        x, y = self._point(action.x, action.y)
        self._input(f"input swipe {x} {y} {x} {y} {round(action.duration * 1000)}")
        return {"input_point": [x, y]}

    def _do_drag(self, action: Any) -> dict[str, Any]:
        x1, y1 = self._point(action.x, action.y)
        x2, y2 = self._point(action.to_x, action.to_y)
        self._input(f"input swipe {x1} {y1} {x2} {y2} {max(50, round(action.duration * 1000))}")
        return {"input_from": [x1, y1], "input_to": [x2, y2]}

    def _do_scroll(self, action: Any) -> dict[str, Any]:
        width, height = self._screen_size()
        sx, sy = (action.x, action.y) if action.x is not None else (width // 2, height // 2)
        ex = min(max(sx - action.dx, 0), width - 1)
        ey = min(max(sy - action.dy, 0), height - 1)
        if (ex, ey) == (sx, sy):
            raise ActionError(f"cannot scroll from ({sx}, {sy}): the swipe would leave the screen at once")
        x1, y1 = self._point(sx, sy)
        x2, y2 = self._point(ex, ey)
        self._input(f"input swipe {x1} {y1} {x2} {y2} {_SCROLL_MS}")
        return {"input_from": [x1, y1], "input_to": [x2, y2]}

    def _do_type(self, action: Any) -> dict[str, Any]:
        text: str = action.text
        plain = ai.is_input_text_safe(text.replace("\n", " ").replace("\t", " "))
        if self.ime == "input" or (self.ime == "auto" and plain):
            if not plain:
                raise ActionError("`input text` cannot type non-ASCII text (ime='input'); "
                                  "create the env with ime='auto' and " + ADB_KEYBOARD_HELP)
            self._input(*ai.type_commands(text))
            return {"method": "input text"}
        self._select_adbkeyboard()
        encoded = base64.b64encode(text.encode("utf-8")).decode("ascii")
        output = self.shell(f"am broadcast -a ADB_INPUT_B64 --es msg {encoded}")
        if "Broadcast completed" not in output:
            raise ActionError(f"ADBKeyboard did not take the text: {output.strip()[:300]}")
        return {"method": "adbkeyboard"}

    def _select_adbkeyboard(self) -> None:
        if self._previous_ime is not None:
            return
        installed = self.shell("ime list -a -s").split()
        if ADB_KEYBOARD not in installed:
            raise ActionError("cannot type non-ASCII text: `input text` only types ASCII and "
                              "the ADBKeyboard IME is not installed; " + ADB_KEYBOARD_HELP)
        current = self.shell("settings get secure default_input_method").strip()
        self.shell(f"ime enable {ADB_KEYBOARD}; ime set {ADB_KEYBOARD}")
        self._previous_ime = current if current and current != "null" else ""

    def _do_key(self, action: Any) -> dict[str, Any]:
        codes = [ai.keycode(k) for k in action.keys]
        if len(codes) == 1:
            self._input(f"input keyevent {codes[0]}")
            return {"keycodes": codes}
        try:
            self._input(f"input keycombination {' '.join(codes)}")
        except ActionError as error:
            if "unknown command" not in str(error).lower():
                raise
            raise ActionError("this device cannot press keys together: `input keycombination` "
                              "needs Android 13 or newer; press the keys one at a time") from None
        return {"keycodes": codes}

    def _do_system_button(self, action: Any) -> dict[str, Any]:
        code = ai.SYSTEM_BUTTONS[action.button]
        self._input(f"input keyevent {code}")
        return {"keycodes": [code]}

    def _do_open_app(self, action: Any) -> dict[str, Any]:
        listing = self.shell("pm list packages")
        packages = [line[len("package:"):].strip() for line in listing.splitlines()
                    if line.startswith("package:")]
        package = ai.resolve_app(action.name, packages, self.apps)
        try:
            output = self.shell(f"monkey -p {shlex.quote(package)} -c android.intent.category.LAUNCHER 1")
        except ActionError as error:
            raise ActionError(f"could not start {package}: {error}") from None
        if "monkey aborted" in output or "No activities found" in output:
            raise ActionError(f"{package} has no launcher activity to open")
        return {"package": package}

    def _do_navigate(self, action: Any) -> dict[str, Any]:
        output = self.shell(f"am start -a android.intent.action.VIEW -d {shlex.quote(action.url)}")
        if "Error" in output:
            raise ActionError(f"could not open {action.url}: {output.strip()[:300]}")
        return {"url": action.url}

    def _do_wait(self, action: Any) -> None:
        time.sleep(action.seconds)


def _check_options(serial: str | None, adb_port: int | None, timeout: float) -> None:
    """Refuse options no device can have before any adb call (they may come from a file)."""
    if serial is not None and not (isinstance(serial, str) and SERIAL.match(serial)):
        raise UsageError(f"{str(serial)[:80]!r} is not an adb serial (such as emulator-5554, "
                         "R58M12ABC or 192.168.1.5:5555); `adb devices` lists them")
    if adb_port is not None and not (isinstance(adb_port, int) and 0 < adb_port < 65536):
        raise UsageError(f"adb_port must be a TCP port (1-65535), got {adb_port!r}")
    if not (isinstance(timeout, (int, float)) and 0 < timeout <= 3600):
        raise UsageError(f"timeout must be a number of seconds in (0, 3600], got {timeout!r}")


def _listing(infos: list[Any]) -> str:
    if not infos:
        return ""
    return " (adb devices: " + ", ".join(f"{i.serial} {i.state}" for i in infos) + ")"
