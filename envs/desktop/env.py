"""The desktop env: mss screenshots of one monitor, pyautogui for the mouse, xdotool for the keyboard.

    with VirtualDisplay(1366, 768) as vd, DesktopEnv(display=vd.display) as env:
        observation = env.observe()
        env.execute(Click(x=100, y=200))

Coordinates arrive in screenshot pixels of the chosen monitor and are mapped
to input points: ``input = monitor origin + pixel / scale``. The origin is
non-zero for any monitor but the first (negative left of the primary one on
some systems); ``scale`` is the HiDPI ratio of physical screenshot pixels to
logical input points (2 on a Retina Mac, 1 on X11), measured from the first
screenshot unless given.

pyautogui keeps process-wide state: this env sets ``PAUSE = 0`` (no 0.1 s sleep
after each call) and ``FAILSAFE = False`` (see :class:`DesktopEnv`), and on X11
points pyautogui's display connection at its own display before each call, so
several envs on several displays can live in one process (one thread at a time).

``open_app`` starts only apps the user allowed (see :mod:`.apps`): the model
names one, it never writes a command line. With none allowed, ``open_app`` is
not among the env's ``capabilities`` and asking for it says why.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from qwen_gui_agent.actions.observation import Observation
from qwen_gui_agent.envs.base import BaseEnv
from qwen_gui_agent.envs.desktop.apps import AppCatalog
from qwen_gui_agent.envs.desktop.keyboard import (
    Keyboard,
    PyautoguiKeyboard,
    XdotoolKeyboard,
)
from qwen_gui_agent.envs.processes import stop_process
from qwen_gui_agent.errors import ActionError, EnvError, UnsupportedAction, UsageError

if TYPE_CHECKING:
    from qwen_gui_agent.actions.models import (
        Action,
        Click,
        Drag,
        Key,
        LongPress,
        Move,
        OpenApp,
        Scroll,
        TypeText,
        Wait,
    )
    from qwen_gui_agent.actions.observation import Outcome

IS_X11 = sys.platform not in ("win32", "darwin")
DRAG_STEPS_PER_SECOND = 60
"""Pointer updates per second of a drag; apps that track motion need intermediate points."""
DRAG_MIN_STEPS = 5
DISPLAY_NAME = re.compile(r"^(?:[A-Za-z0-9_.-]+/)?(?:[A-Za-z0-9_.-]{1,253}|\[[0-9A-Fa-f:.]+\])?:\d{1,5}(?:\.\d{1,3})?$")
"""An X display name: ``[protocol/][host]:display[.screen]`` (``:0``, ``:1.0``, ``localhost:10.0``)."""
NO_APPS = ("no apps may be opened by name on this desktop (the user allowed none); "
           "open programs through what the screen shows instead: menus, icons, launchers")


@dataclass(frozen=True)
class ScreenMapping:
    """Maps screenshot pixels of one monitor to input points of the whole desktop."""

    left: int
    top: int
    scale: float = 1.0
    """Screenshot pixels per input point (HiDPI ratio)."""

    def to_input(self, x: int, y: int) -> tuple[int, int]:
        """The input point covering the centre of screenshot pixel (x, y)."""
        return (self.left + math.floor((x + 0.5) / self.scale),
                self.top + math.floor((y + 0.5) / self.scale))

    def to_screenshot(self, x: int, y: int) -> tuple[int, int]:
        """The first screenshot pixel whose centre lies in input point (x, y) (inverse of to_input)."""
        return (math.ceil((x - self.left) * self.scale - 0.5), math.ceil((y - self.top) * self.scale - 0.5))


def wheel_clicks(pixels: int, step: int) -> int:
    """Convert a scroll distance in pixels to signed wheel clicks (at least one)."""
    if pixels == 0:
        return 0
    return int(math.copysign(max(1, round(abs(pixels) / step)), pixels))


class DesktopEnv(BaseEnv):
    """One monitor of a real desktop (X11, macOS, Windows).

    Observations carry the focused window's title (``title``) and, on X11,
    its WM_CLASS class (``app``, e.g. ``"Firefox"``), read over the env's
    own X connection (no subprocess per screenshot).

    ``pyautogui.FAILSAFE`` is turned off: its fail-safe raises on any pointer
    position in a screen corner, but (0, 0) is a legitimate target (menus,
    close buttons) and the agent has its own stop controls (step limit,
    guard, Ctrl-C).
    """

    kind = "desktop"

    def __init__(
        self,
        display: str | None = None,
        monitor: int | Mapping[str, int] = 1,
        scale: float | None = None,
        typing: Literal["auto", "xdotool", "pyautogui"] = "auto",
        wheel_step: int = 100,
        apps: Mapping[str, str | Sequence[str]] | None = None,
        installed_apps: bool = False,
    ) -> None:
        """Open ``display`` (X11 name such as ``":1"``; default ``$DISPLAY``).

        ``monitor``: an mss monitor index (1 = first monitor, 0 = all monitors
        as one image) or a region ``{"left", "top", "width", "height"}`` in
        input points. ``scale``: screenshot pixels per input point; ``None``
        measures it. ``typing``: the keyboard backend; ``"xdotool"`` types any
        Unicode (X11), ``"pyautogui"`` only what the keymap has (refusing the
        rest), ``"auto"`` picks xdotool when installed. ``wheel_step``: scroll
        pixels per wheel click (100, what Chrome and Windows scroll per notch).
        ``apps``: what ``open_app`` may start, ``{label: argv}`` (an argv as a
        list, or a string split like a shell would); ``installed_apps``: also
        the installed freedesktop entries by their name (see :mod:`.apps`).
        """
        if wheel_step <= 0:
            raise UsageError("wheel_step must be positive")
        if scale is not None and scale <= 0:
            raise UsageError("scale must be positive")
        if typing not in ("auto", "xdotool", "pyautogui"):
            raise UsageError(f"typing must be 'auto', 'xdotool' or 'pyautogui', not {typing!r}")
        if typing == "xdotool" and not IS_X11:
            raise UsageError("typing='xdotool' needs an X11 desktop")
        self.wheel_step = wheel_step
        self.apps = AppCatalog(apps, installed=installed_apps)
        """The apps ``open_app`` may start (the model picks one by name)."""
        if not self.apps:
            self.capabilities = type(self).capabilities - {"open_app"}
        self._launched: list[subprocess.Popen[bytes]] = []
        self._xdisplay: Any = None
        self._sct: Any = None
        self._display_lost = False
        self.display = _resolve_display(display)
        self.options: dict[str, Any] = {"display": self.display, "monitor": monitor, "scale": scale}
        try:
            self._open(monitor, scale, typing)
        except BaseException:
            self._close()
            raise

    def _open(self, monitor: int | Mapping[str, int], scale: float | None, typing: str) -> None:
        import mss

        with self._display_guard("open"):
            if IS_X11:
                self._xdisplay = _open_xlib(self.display)
                self._sct = mss.MSS(display=self.display)
            else:
                self._sct = mss.MSS()
            self.monitor, self._region = _select_monitor(self._sct.monitors, monitor)
        self._auto_scale = scale is None
        self._mapping = ScreenMapping(self._region["left"], self._region["top"], scale or 1.0)
        self._size = (0, 0)
        self._capture_image()  # measures the scale and the screenshot size
        self._pyautogui = _import_pyautogui(self.display)
        self._keyboard = self._make_keyboard(typing)

    def _make_keyboard(self, typing: str) -> Keyboard:
        if typing == "xdotool" or (typing == "auto" and IS_X11 and shutil.which("xdotool")):
            return XdotoolKeyboard({**os.environ, "DISPLAY": self.display or ""}, self._xdisplay,
                                   lambda: self._raise_if_display_gone("use the keyboard"))
        return PyautoguiKeyboard(self._pyautogui, self._bind_pyautogui)

    # -- geometry ------------------------------------------------------------------
    @property
    def scale(self) -> float:
        """Screenshot pixels per input point."""
        return self._mapping.scale

    @property
    def region(self) -> dict[str, int]:
        """The captured area in input points: left, top, width, height."""
        return dict(self._region)

    @property
    def keyboard(self) -> str:
        """The keyboard backend in use: ``"xdotool"`` or ``"pyautogui"``."""
        return self._keyboard.name

    def to_input(self, x: int, y: int) -> tuple[int, int]:
        """The input point for screenshot pixel (x, y)."""
        return self._mapping.to_input(x, y)

    # -- BaseEnv -------------------------------------------------------------------
    def _screen_size(self) -> tuple[int, int]:
        return self._size

    def _capture(self) -> Observation:
        image = self._capture_image()
        with self._display_guard("read the active window"):
            title, app = _active_window(self._xdisplay) if IS_X11 else (None, None)
        return Observation(
            image=image, env="desktop", app=app, title=title, monitor=self.monitor,
            extra={"origin": [self._region["left"], self._region["top"]], "scale": self.scale},
        )

    def _capture_image(self) -> Any:
        from PIL import Image

        with self._display_guard("take a screenshot"):
            shot = self._sct.grab(self._region)
        if self._auto_scale:
            measured = shot.width / self._region["width"]
            if measured != self._mapping.scale:
                self._mapping = ScreenMapping(self._region["left"], self._region["top"], measured)
        self._size = shot.size
        return Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")

    def _perform(self, action: Action) -> dict[str, Any] | None:
        with self._display_guard(f"perform {action.type}"):
            return super()._perform(action)

    def _close(self) -> None:
        for process in self._launched:
            stop_process(process)
        self._launched.clear()
        # python-xlib spins forever on a connection that already failed once: touch nothing then.
        if not self._display_lost:
            for resource in (getattr(self, "_keyboard", None), self._sct, self._xdisplay):
                if resource is not None:
                    with contextlib.suppress(Exception):  # the display died unnoticed; nothing to release
                        resource.close()
        self._sct = self._xdisplay = None

    # -- actions -------------------------------------------------------------------
    def _pointer(self) -> Any:
        self._bind_pyautogui()
        return self._pyautogui

    def _do_click(self, action: Click) -> None:
        x, y = self.to_input(action.x, action.y)
        self._pointer().click(x, y, clicks=action.count, interval=0.0, button=action.button)

    def _do_long_press(self, action: LongPress) -> None:
        x, y = self.to_input(action.x, action.y)
        pointer = self._pointer()
        pointer.mouseDown(x, y, button="left")
        try:
            time.sleep(action.duration)
        finally:
            pointer.mouseUp(button="left")

    def _do_move(self, action: Move) -> None:
        self._pointer().moveTo(*self.to_input(action.x, action.y))

    def _do_drag(self, action: Drag) -> None:
        (x0, y0), (x1, y1) = self.to_input(action.x, action.y), self.to_input(action.to_x, action.to_y)
        pointer = self._pointer()
        steps = max(DRAG_MIN_STEPS, round(action.duration * DRAG_STEPS_PER_SECOND))
        pointer.mouseDown(x0, y0, button="left")
        try:
            for i in range(1, steps + 1):
                pointer.moveTo(round(x0 + (x1 - x0) * i / steps), round(y0 + (y1 - y0) * i / steps))
                time.sleep(action.duration / steps)
        finally:
            pointer.mouseUp(button="left")

    def _do_scroll(self, action: Scroll) -> dict[str, Any]:
        """Scroll by whole wheel clicks of ``wheel_step`` pixels (at least one per axis)."""
        pointer = self._pointer()
        if action.x is not None and action.y is not None:
            pointer.moveTo(*self.to_input(action.x, action.y))
        vertical, horizontal = wheel_clicks(action.dy, self.wheel_step), wheel_clicks(action.dx, self.wheel_step)
        if vertical:
            pointer.scroll(-vertical)  # pyautogui: positive scrolls up
        if horizontal:
            pointer.hscroll(horizontal)  # pyautogui: positive scrolls right
        return {"wheel_clicks": {"x": horizontal, "y": vertical}}

    def _do_type(self, action: TypeText) -> dict[str, Any]:
        self._keyboard.type_text(action.text)
        return {"keyboard": self._keyboard.name}

    def _do_key(self, action: Key) -> dict[str, Any]:
        self._keyboard.press(action.keys)
        return {"keyboard": self._keyboard.name}

    def _do_wait(self, action: Wait) -> None:
        time.sleep(action.seconds)

    def execute(self, action: Action) -> Outcome:
        if action.type == "open_app" and not self.apps:
            self._ensure_open()
            raise UnsupportedAction(NO_APPS)
        return super().execute(action)

    def _do_open_app(self, action: OpenApp) -> dict[str, Any]:
        """Start the allowed app ``action.name`` picks, on this display; ``close()`` stops it.

        The name only selects from :attr:`apps`: the program and its arguments
        are the user's, whatever the model wrote.
        """
        app = self.apps.resolve(action.name)
        environ = {**os.environ, "DISPLAY": self.display} if self.display else None
        try:
            process = subprocess.Popen(
                list(app.argv), env=environ, stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
            )
        except OSError as exc:  # removed or made unexecutable since the env started
            raise ActionError(f"could not start {app.label}: {exc.strerror or exc}") from exc
        self._launched.append(process)
        return {"pid": process.pid, "app": app.label, "command": list(app.argv)}

    # -- display health ------------------------------------------------------------
    def _bind_pyautogui(self) -> None:
        if IS_X11:
            self._pyautogui.platformModule._display = self._xdisplay

    def _ensure_open(self) -> None:
        super()._ensure_open()
        if self._display_lost:
            raise EnvError(self._lost_message("continue"))

    def _raise_if_display_gone(self, doing: str) -> None:
        """Raise EnvError if the X display is gone (the usual cause of a backend failure).

        The env then refuses all further use: its connections are dead for good.
        """
        if IS_X11 and not _display_alive(self.display):
            self._display_lost = True
            raise EnvError(self._lost_message(doing))

    def _lost_message(self, doing: str) -> str:
        return (f"could not {doing}: the X display {self.display} is gone (was the X server "
                "or Xvfb stopped?); start it again and create a new DesktopEnv")

    @contextlib.contextmanager
    def _display_guard(self, doing: str) -> Iterator[None]:
        """Turn a backend failure caused by a lost display into an EnvError."""
        try:
            yield
        except (ActionError, EnvError):
            raise
        except Exception:
            self._raise_if_display_gone(doing)
            raise


# -- X11 helpers -----------------------------------------------------------------
def _resolve_display(display: str | None) -> str | None:
    if not IS_X11:
        if display is not None:
            raise UsageError("display= only applies to X11 desktops")
        return None
    name = display or os.environ.get("DISPLAY")
    if not name:
        raise EnvError(
            "no X display: set DISPLAY, pass DesktopEnv(display=':N'), or start a headless one "
            "with qwen_gui_agent.envs.desktop.xvfb.VirtualDisplay"
        )
    if not DISPLAY_NAME.match(name):
        source = "display" if display else "$DISPLAY"
        raise UsageError(f"{source} {name[:80]!r} is not an X display name such as ':0', ':1.0' or 'host:10.0'")
    return name


@contextlib.contextmanager
def _x11_environ(display: str | None) -> Iterator[None]:
    """Temporarily point DISPLAY at ``display`` for libraries that read it.

    python-xlib refuses to connect when ``~/.Xauthority`` is missing (usual on
    headless machines and with Xvfb), so an empty authority file stands in then;
    python-xlib prints a warning about it to stdout, which is swallowed.
    """
    saved = {k: os.environ.get(k) for k in ("DISPLAY", "XAUTHORITY")}
    if display:
        os.environ["DISPLAY"] = display
    quiet = contextlib.nullcontext()
    if not saved["XAUTHORITY"] and not os.path.exists(os.path.expanduser("~/.Xauthority")):
        os.environ["XAUTHORITY"] = os.devnull
        quiet = contextlib.redirect_stdout(io.StringIO())
    try:
        with quiet:
            yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _open_xlib(display: str | None) -> Any:
    from Xlib.display import Display

    with _x11_environ(display):
        try:
            return Display(display)
        except Exception as exc:
            raise EnvError(
                f"cannot open X display {display}: {exc}; start the X server (or a "
                "VirtualDisplay) or pass the right display="
            ) from exc


def _display_alive(display: str | None) -> bool:
    try:
        _open_xlib(display).close()
    except EnvError:
        return False
    return True


def _import_pyautogui(display: str | None) -> Any:
    """Import pyautogui (it connects to $DISPLAY at import time) with PAUSE and FAILSAFE off."""
    with _x11_environ(display):
        try:
            import pyautogui
        except Exception as exc:
            raise EnvError(f"pyautogui cannot start on display {display}: {exc}") from exc
    pyautogui.PAUSE = 0
    pyautogui.FAILSAFE = False
    return pyautogui


def _select_monitor(monitors: list[dict[str, int]], monitor: int | Mapping[str, int]) -> tuple[int | None, dict[str, int]]:
    """Return (mss index or None for a custom region, the region to capture)."""
    if isinstance(monitor, Mapping):
        region = {k: int(monitor[k]) for k in ("left", "top", "width", "height")}
        desktop = monitors[0]
        if region["width"] <= 0 or region["height"] <= 0:
            raise UsageError(f"the region {region} has no area")
        if (region["left"] < desktop["left"] or region["top"] < desktop["top"]
                or region["left"] + region["width"] > desktop["left"] + desktop["width"]
                or region["top"] + region["height"] > desktop["top"] + desktop["height"]):
            raise UsageError(f"the region {region} is not inside the desktop {desktop}")
        return None, region
    if len(monitors) == 1 and monitor == 1:
        monitor = 0  # no per-monitor information: the whole screen is the one monitor
    if not 0 <= monitor < len(monitors):
        found = ", ".join(f"{i}: {m['width']}x{m['height']}+{m['left']}+{m['top']}" for i, m in enumerate(monitors))
        raise UsageError(f"monitor {monitor} does not exist; this desktop has {found} (0 = all)")
    chosen = monitors[monitor]
    return monitor, {k: chosen[k] for k in ("left", "top", "width", "height")}


def _active_window(xdisplay: Any) -> tuple[str | None, str | None]:
    """(title, WM_CLASS class) of the focused top-level window, or (None, None)."""
    from Xlib import X, error

    root = xdisplay.screen().root
    try:
        active = root.get_full_property(xdisplay.intern_atom("_NET_ACTIVE_WINDOW"), X.AnyPropertyType)
        if active is not None and active.value and active.value[0]:
            window = xdisplay.create_resource_object("window", active.value[0])
        else:
            window = xdisplay.get_input_focus().focus
            if not hasattr(window, "query_tree"):  # PointerRoot or None: focus follows the pointer
                window = root.query_pointer().child
        net_wm_name, utf8 = xdisplay.intern_atom("_NET_WM_NAME"), xdisplay.intern_atom("UTF8_STRING")
        while window and hasattr(window, "query_tree") and window.id != root.id:
            name = window.get_full_property(net_wm_name, utf8)
            title = _text(name.value) if name is not None else window.get_wm_name()
            if title:
                wm_class = window.get_wm_class()
                return str(title), (wm_class[1] if wm_class else None)
            window = window.query_tree().parent
    except error.XError:  # the window went away while we looked
        pass
    return None, None


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


