"""The key vocabulary (:mod:`qwen_gui_agent.actions.keys`) in Playwright's spelling."""

from __future__ import annotations

from qwen_gui_agent.errors import UnsupportedAction

PLAYWRIGHT_KEYS: dict[str, str] = {
    "ctrl": "Control", "alt": "Alt", "shift": "Shift", "super": "Meta",
    "enter": "Enter", "escape": "Escape", "tab": "Tab", "backspace": "Backspace",
    "delete": "Delete", "insert": "Insert", "space": "Space",
    "up": "ArrowUp", "down": "ArrowDown", "left": "ArrowLeft", "right": "ArrowRight",
    "home": "Home", "end": "End", "pageup": "PageUp", "pagedown": "PageDown",
    "capslock": "CapsLock", "printscreen": "PrintScreen", "menu": "ContextMenu",
    **{f"f{i}": f"F{i}" for i in range(1, 13)},
    "volume_up": "AudioVolumeUp", "volume_down": "AudioVolumeDown",
    "volume_mute": "AudioVolumeMute", "media_play_pause": "MediaPlayPause",
    "media_next": "MediaTrackNext", "media_previous": "MediaTrackPrevious",
}
"""The key vocabulary (:mod:`qwen_gui_agent.actions.keys`) in Playwright's spelling.

Single characters are handled by :func:`playwright_key`; the rest of the
vocabulary (``f13``-``f24``, ``power``, ``camera``, ``back``...) has no key in a
web page (``BrowserEnv`` turns a lone ``back`` into history back, as on a phone).
"""


def playwright_key(key: str) -> str:
    """The Playwright name of one normalised key, for ``keyboard.down`` / ``up``.

    Raises UnsupportedAction for keys a web page cannot receive and for
    non-ASCII characters (no physical key to hold; type them instead).
    """
    if len(key) == 1:
        if not key.isascii():
            raise UnsupportedAction(f"'{key}' has no key to hold in a combination; type it instead")
        return _key_code(key)
    try:
        return PLAYWRIGHT_KEYS[key]
    except KeyError:
        raise UnsupportedAction(f"a web page has no '{key}' key") from None


def _key_code(char: str) -> str:
    """Letters and digits by their physical key ("KeyT", "Digit1"), so that Shift held in
    a chord yields "T" as on a real keyboard; other characters as they are."""
    if char.isascii() and char.isalpha():
        return f"Key{char.upper()}"
    if char.isascii() and char.isdigit():
        return f"Digit{char}"
    return char
