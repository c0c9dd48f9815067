"""render -> parse for every action type each family can write, on many screen shapes.

A family's space may be coarser than the screen (Qwen3-VL's 1000 steps across a
2400-pixel axis), so the first trip may move a point by less than one model
step; after that, rendering and parsing are a fixed point.
"""

from __future__ import annotations

import math

import pytest

from qwen_gui_agent.actions import (
    Action,
    Answer,
    Click,
    Drag,
    Key,
    LongPress,
    Move,
    Navigate,
    OpenApp,
    Scroll,
    SystemButton,
    Terminate,
    TypeText,
    Wait,
)
from qwen_gui_agent.actions.coordinates import CoordinateFrame
from qwen_gui_agent.actions.dialects import FAMILIES, get_dialect
from qwen_gui_agent.actions.dialects.uitars import SCROLL_PIXELS, WAIT_SECONDS
from qwen_gui_agent.actions.models import ACTION_BY_TYPE
from qwen_gui_agent.errors import UsageError

SCREENS = [(1920, 1080), (1080, 2400), (1366, 768), (2560, 1440), (1001, 999), (333, 4001),
           (123, 45)]
ENVS = ["desktop", "android"]


def actions_for(family: str, width: int, height: int) -> list[Action]:
    """Actions at points spread over the screen; UI-TARS gets only what it can say exactly."""
    def at(fx: float, fy: float) -> dict[str, int]:
        return {"x": int(fx * (width - 1)), "y": int(fy * (height - 1))}

    common: list[Action] = [
        Click(**at(0, 0)), Click(**at(1, 1), count=2), Click(**at(0.3, 0.7), button="right"),
        Move(**at(0.5, 0.5)),
        Drag(**at(0.1, 0.2), to_x=int(0.9 * (width - 1)), to_y=int(0.8 * (height - 1))),
        LongPress(**at(0.25, 0.75), duration=2.5), LongPress(**at(0.6, 0.1)),
        TypeText(text="héllo 'quoted' \"double\" back\\slash ✓ 你好\nnext line\n"),
        TypeText(text="it's"), TypeText(text=" "),
        Key(keys=["ctrl", "shift", "t"]), Key(keys=["enter"]), Key(keys=["ctrl", "+"]),
        SystemButton(button="home"), SystemButton(button="back"),
        OpenApp(name="Settings"), OpenApp(name="M&S 'shop'"),
        Answer(text="The price is $42.\nThat's all."),
        Terminate(status="success"), Terminate(status="failure"),
    ]
    if family == "ui-tars":
        return common + [
            Scroll(dy=SCROLL_PIXELS), Scroll(dy=-SCROLL_PIXELS, **at(0.5, 0.5)),
            Scroll(dx=SCROLL_PIXELS, **at(0.1, 0.9)), Scroll(dx=-SCROLL_PIXELS),
            Wait(seconds=WAIT_SECONDS),
        ]
    return common + [
        Click(**at(0.5, 0.5), count=3), Click(**at(0.2, 0.2), button="middle"),
        Scroll(dy=300), Scroll(dy=-120, **at(0.4, 0.6)), Scroll(dx=-80), Scroll(dx=45, **at(1, 1)),
        SystemButton(button="menu"), SystemButton(button="enter"),
        Navigate(url="https://example.org/path?q=1"), Wait(seconds=2.0), Wait(seconds=0.5),
    ]


def test_the_examples_cover_every_action_type() -> None:
    assert {a.type for a in actions_for("qwen2.5-vl", 100, 100)} == set(ACTION_BY_TYPE)
    assert {a.type for a in actions_for("ui-tars", 100, 100)} == set(ACTION_BY_TYPE) - {"navigate"}


def _points(action: Action) -> list[tuple[int, int]]:
    points = [action.point] if action.point else []
    return points + ([(action.to_x, action.to_y)] if isinstance(action, Drag) else [])


def _step(frame: CoordinateFrame) -> tuple[int, int]:
    """The most one model step covers on each screen axis."""
    return tuple(math.ceil(s / m) for s, m in zip(frame.screen_size, frame.model_size))


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("screen", SCREENS, ids=lambda s: f"{s[0]}x{s[1]}")
@pytest.mark.parametrize("family", FAMILIES)
def test_render_parse_round_trip(family: str, screen: tuple[int, int], env: str) -> None:
    dialect = get_dialect(family)
    frame = dialect.frame(*screen)
    step = _step(frame)
    for action in actions_for(family, *screen):
        text = dialect.render([action], frame, env, thought="I act.")
        response = dialect.parse(text, frame, env)
        assert response.thought == "I act.", text
        (once,) = response.actions
        assert once.model_copy(update=dict.fromkeys(("x", "y", "to_x", "to_y"))) \
            == action.model_copy(update=dict.fromkeys(("x", "y", "to_x", "to_y"))), text
        for (x, y), (x1, y1) in zip(_points(action), _points(once)):
            assert abs(x - x1) <= step[0] and abs(y - y1) <= step[1], text
        assert dialect.parse(dialect.render([once], frame, env), frame, env).actions == [once]


@pytest.mark.parametrize("family", FAMILIES)
def test_several_actions_in_one_turn(family: str) -> None:
    dialect = get_dialect(family)
    frame = dialect.frame(1920, 1080)
    actions = [Click(x=960, y=540), TypeText(text="query\n"), Key(keys=["ctrl", "a"])]
    assert dialect.parse(dialect.render(actions, frame, "desktop"), frame, "desktop").actions \
        == actions


def test_ui_tars_writes_its_trained_spellings() -> None:
    tars = get_dialect("ui-tars")
    frame = tars.frame(1920, 1080)
    assert tars.render([Click(x=960, y=540)], frame, "desktop") \
        == "Action: click(start_box='<|box_start|>(966,546)<|box_end|>')"
    assert tars.render([TypeText(text="it's\n")], frame, "desktop", thought="Type it") \
        == "Thought: Type it\nAction: type(content='it\\'s\\n')"
    assert tars.render([Key(keys=["ctrl", "c"])], frame, "desktop") \
        == "Action: hotkey(key='ctrl c')"
    assert tars.render([Scroll(dy=-40, x=0, y=0)], frame, "desktop") == (
        "Action: scroll(start_box='<|box_start|>(0,0)<|box_end|>', direction='up')"
    )
    reflection = "Reflection: it failed\nAction_Summary: try again"
    assert tars.render([Terminate(status="success")], frame, "desktop", thought=reflection) \
        == reflection + "\nAction: finished()"


def test_ui_tars_lossy_spellings_keep_the_intent() -> None:
    # UI-TARS names no scroll distance or wait time, and presses Enter as a hotkey.
    tars = get_dialect("ui-tars")
    frame = tars.frame(1080, 2400)
    for action, back in [
        (Scroll(dy=120), Scroll(dy=SCROLL_PIXELS)),
        (Wait(seconds=1), Wait(seconds=WAIT_SECONDS)),
        (SystemButton(button="enter"), Key(keys=["enter"])),
    ]:
        assert tars.parse(tars.render([action], frame, "android"), frame, "android").actions \
            == [back]


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (Click(x=1, y=1, button="middle"), "clicks middle"),
        (Click(x=1, y=1, count=3), "3 times"),
        (Navigate(url="https://a.example"), "URL"),
        (Scroll(dx=5, dy=5), "both axes"),
        (SystemButton(button="menu"), "menu button"),
    ],
)
def test_ui_tars_cannot_say_everything(action: Action, message: str) -> None:
    tars = get_dialect("ui-tars")
    with pytest.raises(UsageError, match=message):
        tars.render([action], tars.frame(1920, 1080), "desktop")


@pytest.mark.parametrize("family", FAMILIES)
def test_rendering_nothing_or_outside_the_screen_fails(family: str) -> None:
    dialect = get_dialect(family)
    frame = dialect.frame(100, 100)
    with pytest.raises(UsageError, match="no actions"):
        dialect.render([], frame, "desktop")
    with pytest.raises(ValueError, match="outside"):
        dialect.render([Click(x=100, y=5)], frame, "desktop")
