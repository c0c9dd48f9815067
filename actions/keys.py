"""One key-name vocabulary for every env.

Models and users spell keys many ways (``Control``, ``ctrl``, ``KEYCODE_ENTER``,
``Return``, ``cmd``); executors need exactly one spelling to translate. Every
`Key` action is normalised through :func:`normalize_key`, so an executor only
ever sees names from :data:`KEY_NAMES` or a single printable character.

Vocabulary (lower case):

- modifiers: ``ctrl``, ``alt``, ``shift``, ``super`` (Windows / Command / Meta key)
- editing and navigation: ``enter``, ``escape``, ``tab``, ``backspace``,
  ``delete``, ``insert``, ``space``, ``up``, ``down``, ``left``, ``right``,
  ``home``, ``end``, ``pageup``, ``pagedown``, ``capslock``, ``printscreen``,
  ``menu``
- function keys: ``f1`` … ``f24``
- device and media keys (mostly Android): ``back``, ``power``, ``volume_up``,
  ``volume_down``, ``volume_mute``, ``camera``, ``clear``, ``search``, ``app_switch``,
  ``media_play_pause``, ``media_next``, ``media_previous``, ``media_stop``
- any single printable character, e.g. ``a``, ``5``, ``/`` (letters are lower-cased)
"""

from __future__ import annotations

from qwen_gui_agent.errors import UsageError, brief

MODIFIERS = ("ctrl", "alt", "shift", "super")

KEY_NAMES: frozenset[str] = frozenset(
    (
        *MODIFIERS,
        "enter", "escape", "tab", "backspace", "delete", "insert", "space",
        "up", "down", "left", "right", "home", "end", "pageup", "pagedown",
        "capslock", "printscreen", "menu",
        *(f"f{i}" for i in range(1, 25)),
        "back", "power", "volume_up", "volume_down", "volume_mute", "camera",
        "clear", "search", "app_switch", "media_play_pause", "media_next",
        "media_previous", "media_stop",
    )
)

ALIASES: dict[str, str] = {
    "control": "ctrl", "ctl": "ctrl", "lctrl": "ctrl", "rctrl": "ctrl",
    "ctrl_l": "ctrl", "ctrl_r": "ctrl", "control_l": "ctrl", "control_r": "ctrl",
    "ctrlleft": "ctrl", "ctrlright": "ctrl",
    "option": "alt", "opt": "alt", "alt_l": "alt", "alt_r": "alt", "altleft": "alt",
    "altright": "alt", "lalt": "alt", "ralt": "alt", "altgr": "alt",
    "shift_l": "shift", "shift_r": "shift", "shiftleft": "shift",
    "shiftright": "shift", "lshift": "shift", "rshift": "shift",
    "cmd": "super", "command": "super", "win": "super", "windows": "super",
    "meta": "super", "meta_l": "super", "super_l": "super", "super_r": "super",
    "winleft": "super", "winright": "super", "os": "super",
    "return": "enter", "ret": "enter", "kp_enter": "enter", "newline": "enter",
    "esc": "escape",
    "bksp": "backspace", "back_space": "backspace", "bs": "backspace",
    "del": "delete", "forward_delete": "delete",
    "ins": "insert",
    "spacebar": "space", " ": "space",
    "arrowup": "up", "arrowdown": "down", "arrowleft": "left", "arrowright": "right",
    "up_arrow": "up", "down_arrow": "down", "left_arrow": "left", "right_arrow": "right",
    "dpad_up": "up", "dpad_down": "down", "dpad_left": "left", "dpad_right": "right",
    "page_up": "pageup", "pgup": "pageup", "prior": "pageup",
    "page_down": "pagedown", "pgdn": "pagedown", "next": "pagedown",
    "caps_lock": "capslock", "print": "printscreen", "print_screen": "printscreen",
    "prtsc": "printscreen", "contextmenu": "menu", "apps": "menu",
    "move_home": "home", "move_end": "end",
    "volumeup": "volume_up", "volumedown": "volume_down", "volumemute": "volume_mute",
    "mute": "volume_mute",
    "recent_apps": "app_switch", "recents": "app_switch", "appswitch": "app_switch",
    "media_play": "media_play_pause", "play_pause": "media_play_pause",
    "playpause": "media_play_pause",
    "mediaplaypause": "media_play_pause",
    "media_previous_track": "media_previous", "media_prev": "media_previous",
    "media_next_track": "media_next",
    # X keysym names of punctuation (xdotool, pyautogui), which models copy
    "minus": "-", "plus": "+", "equal": "=", "comma": ",", "period": ".", "slash": "/",
    "backslash": "\\", "semicolon": ";", "apostrophe": "'", "grave": "`",
    "bracketleft": "[", "bracketright": "]", "asterisk": "*",
}


def normalize_key(name: str) -> str:
    """Return the vocabulary spelling of ``name`` or raise ``ValueError``.

    Accepts any case, ``KEYCODE_`` prefixes (Android), ``Key.`` prefixes and the
    aliases above. A single character is a key of its own.
    """
    if not isinstance(name, str) or name == "":
        raise UsageError("a key name must be a non-empty string")
    if len(name) == 1:
        if not name.isprintable():
            raise UsageError(f"key {brief(name)} is not a printable character")
        return "space" if name == " " else name.lower()
    key = "_".join(name.lower().split()).replace("-", "_")  # "Page Down", "page-down"
    for prefix in ("keycode_", "key."):
        if key.startswith(prefix):
            key = key[len(prefix):]
    key = ALIASES.get(key, key)
    if key in KEY_NAMES or len(key) == 1:
        return key
    raise UsageError(
        f"unknown key {brief(name)}; use a single character or one of: "
        + ", ".join(sorted(KEY_NAMES))
    )


def split_combo(combo: str) -> list[str]:
    """Split a combination such as ``"ctrl+shift+t"`` (or ``"ctrl-a"``) into normalised names."""
    parts = [p for p in combo.replace(" + ", "+").split("+")] if len(combo) > 1 else [combo]
    if "" in parts:  # "ctrl++" means ctrl and plus
        parts = [p for p in parts if p] + ["+"]
    return [name for part in parts for name in _split_hyphens(part)]


def _split_hyphens(part: str) -> list[str]:
    """One key, or a ``-``-joined combo such as ``ctrl-a`` when the whole is no key name.

    ``volume-down`` stays one key; ``-`` alone is the minus key.
    """
    try:
        return [normalize_key(part)]
    except ValueError:
        pieces = part.split("-")
        if len(pieces) < 2 or "" in pieces:
            raise
        return [normalize_key(piece) for piece in pieces]
