"""Unicode typing beyond the keymap's spare keycodes, and the keymap given back afterwards."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fixtures.display import ProbeApp

from qwen_gui_agent.actions.models import Click, TypeText
from qwen_gui_agent.envs.desktop.env import DesktopEnv
from qwen_gui_agent.envs.desktop.keyboard import char_keysym
from qwen_gui_agent.envs.desktop.xvfb import VirtualDisplay


def blank_keycodes(display: VirtualDisplay, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from Xlib.display import Display

    monkeypatch.setenv("XAUTHORITY", "/dev/null")
    connection = Display(display.display)
    try:
        first = connection.display.info.min_keycode
        table = connection.get_keyboard_mapping(first, connection.display.info.max_keycode - first + 1)
        return [first + i for i, row in enumerate(table) if not any(row)]
    finally:
        connection.close()


@pytest.mark.parametrize(("char", "keysym"), [("a", 0x61), ("é", 0xE9), ("—", 0x1002014), ("你", 0x1004F60)])
def test_char_keysym(char: str, keysym: int) -> None:
    assert char_keysym(char) == keysym


def test_more_distinct_characters_than_spare_keycodes(
        display_1366x768: VirtualDisplay, tk_probe_app: Callable[[VirtualDisplay], ProbeApp],
        monkeypatch: pytest.MonkeyPatch) -> None:
    blank_before = blank_keycodes(display_1366x768, monkeypatch)
    text = "".join(chr(0x4E00 + i) for i in range(len(blank_before) + 12)) + " ok ✓ ÄÖÜ"
    probe = tk_probe_app(display_1366x768)
    with DesktopEnv(display=display_1366x768.display) as env:
        x, y = probe.center("entry")
        env.execute(Click(x=x, y=y))
        env.execute(TypeText(text=text))
        probe.wait_for(lambda s: s["entry"] == text, "every character, across keymap rebinds")
        assert len(blank_keycodes(display_1366x768, monkeypatch)) < len(blank_before), "characters stay bound"
    assert blank_keycodes(display_1366x768, monkeypatch) == blank_before, "close() gives the keycodes back"
