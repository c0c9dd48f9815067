"""Pure translations for the Android env: text -> ``input text`` words, keys ->
keycodes, screenshot pixels -> ``input`` coordinates, app labels -> packages.

Kept free of adbutils so each rule is testable on its own.
"""

from __future__ import annotations

import difflib
import re
import shlex
from dataclasses import dataclass

from qwen_gui_agent.errors import ActionError, brief

# -- text -------------------------------------------------------------------------


def is_input_text_safe(text: str) -> bool:
    """Whether ``input text`` can type ``text``: printable ASCII only (the virtual
    keyboard map has no key events for anything else)."""
    return all(32 <= ord(c) < 127 for c in text)


def input_text_arguments(text: str) -> list[str]:
    """Arguments for successive ``input text`` calls that type exactly ``text``.

    ``input text`` turns ``%s`` into a space and leaves every other ``%`` alone,
    and nothing escapes a literal ``%s``. So spaces become ``%s``, and a text
    ``%`` followed by a text ``s`` is split across two calls (the first ends in
    ``%``, the next starts with ``s``). Shell quoting is separate: quote each
    argument with :func:`shlex.quote`.
    """
    if not text:
        return []
    chunks, current = [], ""
    for index, char in enumerate(text):
        if char == "s" and index > 0 and text[index - 1] == "%":
            chunks.append(current)
            current = ""
        current += "%s" if char == " " else char
    chunks.append(current)
    return chunks


def type_commands(text: str) -> list[str]:
    """Shell commands that type ASCII ``text``; newlines and tabs become key events."""
    commands = []
    for piece in re.split(r"(\n|\t)", text.replace("\r\n", "\n")):
        if piece == "\n":
            commands.append("input keyevent KEYCODE_ENTER")
        elif piece == "\t":
            commands.append("input keyevent KEYCODE_TAB")
        else:
            commands.extend(f"input text {shlex.quote(arg)}" for arg in input_text_arguments(piece))
    return commands


# -- keys -------------------------------------------------------------------------

KEYCODES: dict[str, str] = {
    "ctrl": "CTRL_LEFT", "alt": "ALT_LEFT", "shift": "SHIFT_LEFT", "super": "META_LEFT",
    "enter": "ENTER", "escape": "ESCAPE", "tab": "TAB", "backspace": "DEL",
    "delete": "FORWARD_DEL", "insert": "INSERT", "space": "SPACE", "up": "DPAD_UP",
    "down": "DPAD_DOWN", "left": "DPAD_LEFT", "right": "DPAD_RIGHT",
    "home": "HOME", "end": "MOVE_END", "pageup": "PAGE_UP", "pagedown": "PAGE_DOWN",
    "capslock": "CAPS_LOCK", "printscreen": "SYSRQ", "menu": "MENU", "clear": "CLEAR",
    **{f"f{i}": f"F{i}" for i in range(1, 13)},
    "back": "BACK", "power": "POWER", "volume_up": "VOLUME_UP", "volume_down": "VOLUME_DOWN",
    "volume_mute": "VOLUME_MUTE", "camera": "CAMERA", "search": "SEARCH",
    "app_switch": "APP_SWITCH", "media_play_pause": "MEDIA_PLAY_PAUSE",
    "media_next": "MEDIA_NEXT", "media_previous": "MEDIA_PREVIOUS", "media_stop": "MEDIA_STOP",
    ",": "COMMA", ".": "PERIOD", "/": "SLASH", ";": "SEMICOLON", "'": "APOSTROPHE",
    "[": "LEFT_BRACKET", "]": "RIGHT_BRACKET", "\\": "BACKSLASH", "-": "MINUS", "=": "EQUALS",
    "`": "GRAVE", "@": "AT", "+": "PLUS", "*": "STAR", "#": "POUND",
}
"""Normalised key name -> Android ``KEYCODE_`` suffix. ``home`` is the system Home
key: on a phone that is what a model means by it."""


def keycode(name: str) -> str:
    """``KEYCODE_*`` for a normalised key name; ``ActionError`` (for the model) if Android has none."""
    if len(name) == 1 and (name.isascii() and name.isalnum()):
        return f"KEYCODE_{name.upper()}"
    if name in KEYCODES:
        return f"KEYCODE_{KEYCODES[name]}"
    raise ActionError(f"Android has no key event for {name!r}; type it with a 'type' action instead")


SYSTEM_BUTTONS = {"back": "KEYCODE_BACK", "home": "KEYCODE_HOME", "menu": "KEYCODE_MENU",
                  "enter": "KEYCODE_ENTER"}


# -- screenshots ------------------------------------------------------------------

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_END = b"IEND\xaeB`\x82"


def extract_png(data: bytes) -> bytes | None:
    """The PNG inside ``screencap -p`` output, or None when it holds no whole one.

    ``exec:`` sends the program's stderr down the same stream, so text can
    surround the image: devices with several displays (foldables, some
    emulators) print ``[Warning] Multiple displays were found, but no display
    id was specified! ...`` before it, old ones ``WARNING: linker: ...`` lines.
    """
    start = data.find(PNG_SIGNATURE)
    end = data.rfind(PNG_END)
    if start < 0 or end < start:
        return None
    return data[start:end + len(PNG_END)]


# -- coordinates ------------------------------------------------------------------


@dataclass(frozen=True)
class DisplayState:
    """Geometry of the display when a screenshot was taken."""

    width: int
    height: int
    """Natural (rotation 0) size from ``wm size`` (the override size if one is set)."""
    rotation: int = 0

    @property
    def logical_size(self) -> tuple[int, int]:
        """Size in the current rotation: what ``input`` coordinates refer to."""
        return (self.height, self.width) if self.rotation % 2 else (self.width, self.height)

    def to_input(self, x: float, y: float, shot_width: int, shot_height: int) -> tuple[int, int]:
        """Screenshot pixel -> ``input tap`` coordinate.

        A screenshot in the display's current orientation (what ``screencap``
        gives on current Android) maps by scale only (1:1 normally, other when
        ``wm size`` overrides the resolution). Some devices return the panel
        unrotated: a portrait image while the display is in landscape. Then the
        point is turned the way the input system turns raw touches
        (``TouchInputMapper``): 90 -> (y, W-1-x), 180 -> (W-1-x, H-1-y),
        270 -> (H-1-y, x). An upside-down (180) unrotated screenshot has the same
        size as a rotated one and cannot be told apart; it is taken as rotated.
        """
        lw, lh = self.logical_size
        same_orientation = (shot_width >= shot_height) == (lw >= lh) or shot_width == shot_height
        if same_orientation:
            return _clamp(x * lw / shot_width, lw), _clamp(y * lh / shot_height, lh)
        nw, nh = self.width, self.height
        px, py = x * nw / shot_width, y * nh / shot_height
        if self.rotation == 1:
            ix, iy = py, nw - 1 - px
        elif self.rotation == 3:
            ix, iy = nh - 1 - py, px
        else:
            ix, iy = px, py
        return _clamp(ix, lw), _clamp(iy, lh)


def _clamp(value: float, size: int) -> int:
    return min(max(round(value), 0), size - 1)


def parse_wm_size(output: str) -> tuple[int, int] | None:
    for label in ("Override size", "Physical size"):
        match = re.search(label + r":\s*(\d+)x(\d+)", output)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


_VIEWPORT = re.compile(r"DisplayViewport\{([^{}]*)\}")
_ORIENTATION = re.compile(r"(?:[oO]rientation=|SurfaceOrientation:\s*)(?:ROTATION_|Rotation)?(\d+)")


def parse_rotation(output: str) -> int:
    """Rotation (quarter turns) from ``dumpsys display`` / ``dumpsys input`` lines; 0 when absent.

    ``mViewports`` may list several viewports of display 0 (tablets, foldables),
    the first of them inactive (``isActive=false``) with a stale orientation:
    the active one wins. Other lines give the number as ``orientation=1``,
    ``SurfaceOrientation: 1`` or, on newer builds, ``ROTATION_90`` / ``Rotation90``.
    """
    viewports = _VIEWPORT.findall(output)
    ranked = sorted(viewports, key=lambda v: ("isActive=false" in v, "displayId=0," not in v))
    for text in [*ranked, output]:
        match = _ORIENTATION.search(text)
        if match:
            value = int(match.group(1))
            return (value // 90 if value >= 90 else value) % 4
    return 0


_COMPONENT = re.compile(r"(?<![\w.$/])([A-Za-z][\w.]*/[\w.$]+)")


def parse_foreground(output: str) -> str | None:
    """``package/activity`` of the focused window, else of the focused or resumed activity.

    Formats differ by release: ``mCurrentFocus=Window{4330b6c0 pkg/.Act paused=false}``
    (no user id, Android 4), ``Window{h u0 pkg/.Act}``; ``mFocusedApp=`` is an
    ``AppWindowToken{h token=Token{h ActivityRecord{h u0 pkg/.Act t5}}}`` before
    Android 10 and an ``ActivityRecord{...}`` after it. A focused window that is
    no activity (``StatusBar``, ``PopupWindow:1f2e``) falls back to the app.
    """
    lines = output.splitlines()
    for marker in ("mCurrentFocus", "mFocusedApp", "ResumedActivity"):
        for line in lines:
            _, found, rest = line.partition(marker)
            match = _COMPONENT.search(rest) if found else None
            if match:
                return match.group(1)
    return None


# -- apps -------------------------------------------------------------------------

KNOWN_APPS: dict[str, tuple[str, ...]] = {
    "settings": ("com.android.settings",),
    "chrome": ("com.android.chrome",),
    "play store": ("com.android.vending",), "google play": ("com.android.vending",),
    "gmail": ("com.google.android.gm",),
    "youtube": ("com.google.android.youtube",),
    "maps": ("com.google.android.apps.maps",), "google maps": ("com.google.android.apps.maps",),
    "camera": ("com.google.android.GoogleCamera", "com.android.camera2", "com.android.camera"),
    "phone": ("com.google.android.dialer", "com.android.dialer"),
    "contacts": ("com.google.android.contacts", "com.android.contacts"),
    "messages": ("com.google.android.apps.messaging", "com.android.messaging", "com.android.mms"),
    "photos": ("com.google.android.apps.photos",), "gallery": ("com.android.gallery3d",),
    "calendar": ("com.google.android.calendar", "com.android.calendar"),
    "clock": ("com.google.android.deskclock", "com.android.deskclock"),
    "calculator": ("com.google.android.calculator", "com.android.calculator2"),
    "files": ("com.google.android.documentsui", "com.android.documentsui"),
}
"""Common labels whose package name does not contain them; first installed wins."""


PACKAGE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$")
"""What an Android package name looks like (``com.android.settings``)."""


def resolve_app(name: str, packages: list[str], extra: dict[str, str] | None = None) -> str:
    """The package to launch for ``name``: a package name, or an app label, matched strictly.

    A model steered by a page must not get "close enough": nothing is guessed
    from parts of package names. In order:

    1. a label of the user's ``apps`` map (case and spacing ignored);
    2. a name that looks like a package must be an installed package, exactly;
    3. a label of the common-apps table (first installed package wins);
    4. the last part of exactly one installed package (``firefox`` ->
       ``org.mozilla.firefox``), case ignored, spaces removed.

    Android offers no shell command that prints app labels, so these are the
    names there are. Anything else is an :class:`ActionError` listing the
    close candidates.
    """
    label = " ".join(name.casefold().split())
    for table_label, package in (extra or {}).items():
        if " ".join(table_label.casefold().split()) == label:
            return package
    if PACKAGE_NAME.match(name.strip()):
        if name.strip() in packages:
            return name.strip()
        raise ActionError(f"no installed package is named {brief(name)}{_close(name.strip(), packages)}")
    for package in KNOWN_APPS.get(label, ()):
        if package in packages:
            return package
    squashed = label.replace(" ", "")
    found = sorted(p for p in packages if p.rsplit(".", 1)[-1].casefold() == squashed)
    if len(found) == 1:
        return found[0]
    if found:
        raise ActionError(f"{brief(name)} could be any of {', '.join(found)}; give the package name")
    names = [*(extra or {}), *(k for k, v in KNOWN_APPS.items() if any(p in packages for p in v)),
             *packages, *(p.rsplit(".", 1)[-1] for p in packages)]
    raise ActionError(f"no installed app is named {brief(name)}{_close(label, names)}; give an installed "
                      "package name (`adb shell pm list packages` lists them)")


def _close(name: str, candidates: list[str]) -> str:
    """``"; close names: a, b"`` for the candidates most like ``name``, or ``""``."""
    close = difflib.get_close_matches(name, sorted(set(candidates)), n=5, cutoff=0.6)
    return f"; close names: {', '.join(close)}" if close else ""
