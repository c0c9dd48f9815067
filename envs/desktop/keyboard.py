"""Keyboard input for the desktop env: typing text and pressing key chords on X11 and elsewhere.

Two backends, chosen by ``DesktopEnv(typing=...)``:

- ``XdotoolKeyboard`` (X11): ``xdotool type`` types any Unicode text (it maps
  a spare keycode to each character the keymap lacks) and ``xdotool key``
  resolves key names against the target display's own keymap.
- ``PyautoguiKeyboard`` (any OS pyautogui supports): ``pyautogui.write``
  silently drops characters it has no key for, so this backend refuses such
  text with an :class:`ActionError` instead of typing part of it.

Both raise :class:`ActionError` when a key has no equivalent or the tool fails,
so a failure is reported to the model rather than ignored.
"""

from __future__ import annotations

import shutil
import subprocess
import time
from typing import TYPE_CHECKING, Any, Protocol

from qwen_gui_agent.errors import ActionError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

XDOTOOL_HINT = "install xdotool (Debian/Ubuntu: apt-get install xdotool)"

# Vocabulary (qwen_gui_agent.actions.keys) -> X keysym names, as xdotool takes them.
XDOTOOL_KEYS: dict[str, str] = {
    "ctrl": "ctrl", "alt": "alt", "shift": "shift", "super": "super",
    "enter": "Return", "escape": "Escape", "tab": "Tab", "backspace": "BackSpace",
    "delete": "Delete", "insert": "Insert", "space": "space", "up": "Up",
    "down": "Down", "left": "Left", "right": "Right", "home": "Home", "end": "End",
    "pageup": "Prior", "pagedown": "Next", "capslock": "Caps_Lock",
    "printscreen": "Print", "menu": "Menu", "clear": "Clear",
    **{f"f{i}": f"F{i}" for i in range(1, 25)},
    "back": "XF86Back", "power": "XF86PowerOff", "search": "XF86Search",
    "volume_up": "XF86AudioRaiseVolume", "volume_down": "XF86AudioLowerVolume",
    "volume_mute": "XF86AudioMute", "media_play_pause": "XF86AudioPlay",
    "media_next": "XF86AudioNext", "media_previous": "XF86AudioPrev",
    "media_stop": "XF86AudioStop", "camera": "XF86WebCam",
}

# Vocabulary -> pyautogui.KEY_NAMES.
PYAUTOGUI_KEYS: dict[str, str] = {
    "ctrl": "ctrl", "alt": "alt", "shift": "shift", "super": "winleft",
    "enter": "enter", "escape": "esc", "tab": "tab", "backspace": "backspace",
    "delete": "delete", "insert": "insert", "space": "space", "up": "up",
    "down": "down", "left": "left", "right": "right", "home": "home", "end": "end",
    "pageup": "pageup", "pagedown": "pagedown", "capslock": "capslock",
    "printscreen": "printscreen", "menu": "apps", "clear": "clear",
    **{f"f{i}": f"f{i}" for i in range(1, 25)},
    "back": "browserback", "search": "browsersearch",
    "volume_up": "volumeup", "volume_down": "volumedown", "volume_mute": "volumemute",
    "media_play_pause": "playpause", "media_next": "nexttrack",
    "media_previous": "prevtrack", "media_stop": "stop",
}


class Keyboard(Protocol):
    name: str

    def type_text(self, text: str) -> None: ...

    def press(self, keys: Sequence[str]) -> None:
        """Press ``keys`` (vocabulary names) together, releasing in reverse order."""
        ...

    def close(self) -> None:
        """Undo any change made to the display (keymap)."""
        ...


def xdotool_keysym(key: str) -> str:
    """The X keysym name of a vocabulary key or a single character."""
    if key in XDOTOOL_KEYS:
        return XDOTOOL_KEYS[key]
    if len(key) == 1:
        # "U002F" is how XStringToKeysym spells any character, '/' and '+' included.
        return f"U{ord(key):04X}"
    raise ActionError(f"key {key!r} has no desktop equivalent")


def char_keysym(char: str) -> int:
    """The X keysym of a character (Latin-1 keysyms equal the code point; others are 0x1000000 + it)."""
    code = ord(char)
    return code if 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF else 0x1000000 + code


class ScratchKeys:
    """Binds characters the keymap lacks to spare keycodes, and keeps them bound.

    ``xdotool type`` binds a missing character to a scratch keycode, sends the
    key and unbinds it at once; an app that looks the key up after the unbind
    reads a blank key and drops the character (often, on a busy machine).
    Binding before xdotool starts makes xdotool find the character in the
    keymap; the bindings stay until spare keycodes run out or ``release()``.
    """

    UNBIND_GRACE_S = 0.2
    """How long apps get to read the last keys before their keycodes are reused."""

    def __init__(self, xdisplay: Any) -> None:
        self._xdisplay = xdisplay
        self._bound: dict[int, int] = {}  # keysym -> keycode

    def chunks(self, text: str) -> Iterator[str]:
        """Split ``text`` into pieces; each piece's characters are bound when it is yielded."""
        first = self._xdisplay.display.info.min_keycode
        table = self._xdisplay.get_keyboard_mapping(first, self._xdisplay.display.info.max_keycode - first + 1)
        ours = set(self._bound.values())
        present = {keysym for i, row in enumerate(table) if first + i not in ours for keysym in row if keysym}
        blank = [first + i for i, row in enumerate(table) if not any(row)]
        capacity = len(blank) + len(self._bound)
        start, needed = 0, []  # needed: keysyms the current piece lacks, in order
        for index, char in enumerate(text):
            keysym = char_keysym(char)
            if ord(char) < 0x20 or keysym in present or keysym in needed or capacity == 0:
                continue  # (with no spare keycode at all, xdotool's own scratch binding is the only way)
            if len(needed) == capacity:  # out of keycodes: type what is bound, then rebind
                self._bind(needed, blank)
                yield text[start:index]
                start, needed = index, []
            needed.append(keysym)
        self._bind(needed, blank)
        yield text[start:]

    def _bind(self, needed: list[int], blank: list[int]) -> None:
        new = [keysym for keysym in needed if keysym not in self._bound]
        if len(new) > len(blank):
            time.sleep(self.UNBIND_GRACE_S)  # apps may still be reading keys typed with these keycodes
            blank.extend(self.release())
            new = needed
        for keysym in new:
            keycode = blank.pop(0)
            self._xdisplay.change_keyboard_mapping(keycode, [(keysym, keysym)])
            self._bound[keysym] = keycode
        if new:
            self._xdisplay.sync()

    def release(self) -> list[int]:
        """Blank the keycodes bound so far; return them."""
        keycodes = list(self._bound.values())
        for keycode in keycodes:
            self._xdisplay.change_keyboard_mapping(keycode, [(0, 0)])
        if keycodes:
            self._xdisplay.sync()
        self._bound = {}
        return keycodes


class XdotoolKeyboard:
    """Keyboard input through the ``xdotool`` command on the env's display."""

    name = "xdotool"

    def __init__(self, environ: dict[str, str], xdisplay: Any, on_failure: Callable[[], None]) -> None:
        """``environ`` carries ``DISPLAY``; ``xdisplay`` is a python-xlib connection to it;
        ``on_failure`` raises EnvError if the display is gone."""
        self._environ = environ
        self._scratch = ScratchKeys(xdisplay)
        self._on_failure = on_failure

    def type_text(self, text: str) -> None:
        for piece in self._scratch.chunks(text):
            if piece:
                # --file - reads the text from stdin: no argv length limit, no option parsing of "-x".
                self._run(["type", "--file", "-"], stdin=piece)

    def close(self) -> None:
        self._scratch.release()

    def press(self, keys: Sequence[str]) -> None:
        self._run(["key", "+".join(xdotool_keysym(k) for k in keys)])

    def _run(self, args: list[str], stdin: str | None = None) -> None:
        executable = shutil.which("xdotool", path=self._environ.get("PATH"))
        if executable is None:
            raise ActionError(f"cannot type or press keys: xdotool is not on PATH; {XDOTOOL_HINT}")
        result = subprocess.run(
            [executable, *args], input=(stdin or "").encode(), env=self._environ,
            capture_output=True, timeout=120, check=False,
        )
        stderr = result.stderr.decode(errors="replace").strip()
        if result.returncode != 0:
            self._on_failure()
            raise ActionError(f"xdotool {args[0]} failed with status {result.returncode}: {stderr or 'no message'}")
        if "No such key name" in stderr:  # xdotool skips unknown keysyms and still exits 0
            raise ActionError(f"xdotool {args[0]}: {stderr}")


class PyautoguiKeyboard:
    """Keyboard input through pyautogui (no Unicode beyond the keymap's keys)."""

    name = "pyautogui"

    def __init__(self, pyautogui: Any, bind: Callable[[], None]) -> None:
        """``bind`` points pyautogui at the env's display before each call."""
        self._pyautogui = pyautogui
        self._bind = bind

    def _known(self, key: str) -> bool:
        """Whether pyautogui has a key for ``key`` (it silently skips keys it lacks)."""
        return self._pyautogui.platformModule.keyboardMapping.get(key) is not None

    def type_text(self, text: str) -> None:
        missing = dict.fromkeys(c for c in text if not self._known(c))  # in order, once each
        if missing:
            raise ActionError(
                f"cannot type {''.join(missing)!r} with pyautogui (it would drop them silently); "
                f"use DesktopEnv(typing='xdotool') and {XDOTOOL_HINT}"
            )
        self._bind()
        self._pyautogui.write(text)

    def press(self, keys: Sequence[str]) -> None:
        names = [PYAUTOGUI_KEYS.get(k, k) for k in keys]
        unknown = [k for k, n in zip(keys, names) if not self._known(n)]
        if unknown:
            raise ActionError(f"key {unknown[0]!r} cannot be pressed through pyautogui on this system")
        self._bind()
        self._pyautogui.hotkey(*names)

    def close(self) -> None:
        """Nothing to undo: pyautogui changes no keymap."""
