"""Stuck detection: identical actions on an unchanged screen."""

from __future__ import annotations

import pytest
from PIL import Image

from qwen_gui_agent.actions.models import Click, Key, Scroll
from qwen_gui_agent.agent.stuck import StuckDetector, same_actions


def _screen(shade: int) -> Image.Image:
    return Image.new("RGB", (200, 120), (shade, shade, shade))


def test_hint_at_the_limit_then_stuck() -> None:
    detector = StuckDetector(limit=3)
    screen, click = _screen(40), [Click(x=10, y=10)]
    assert [detector.update(screen, click) for _ in range(3)] == ["ok", "ok", "hint"]
    assert "3 times" in detector.hint()
    assert detector.update(screen, click) == "stuck"


def test_a_changed_screen_or_action_resets_the_count() -> None:
    detector = StuckDetector(limit=2)
    click = [Click(x=10, y=10)]
    assert detector.update(_screen(40), click) == "ok"
    assert detector.update(_screen(200), click) == "ok"  # the screen changed
    assert detector.update(_screen(200), [Key(keys=["enter"])]) == "ok"  # other action
    assert detector.update(_screen(200), [Key(keys=["enter"])]) == "hint"


def test_small_jitter_counts_as_the_same_action() -> None:
    assert same_actions([Click(x=100, y=100)], [Click(x=104, y=97)], tolerance_px=8)
    assert not same_actions([Click(x=100, y=100)], [Click(x=120, y=100)], tolerance_px=8)
    assert not same_actions([Click(x=1, y=1)], [Click(x=1, y=1, button="right")], tolerance_px=8)
    assert same_actions([Scroll(dy=100)], [Scroll(dy=100)])
    assert not same_actions([Scroll(dy=100)], [Scroll(dy=100), Scroll(dy=100)])


def test_limit_must_allow_a_repeat() -> None:
    with pytest.raises(ValueError):
        StuckDetector(limit=1)
