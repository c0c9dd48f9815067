"""Tool call <-> unified action, in both directions, through a Frame."""

from __future__ import annotations

import json

import pytest

from qwen_gui_agent.actions import (
    Action,
    Answer,
    Click,
    Drag,
    Frame,
    Key,
    LongPress,
    Move,
    Navigate,
    OpenApp,
    ParseError,
    Scroll,
    SystemButton,
    Terminate,
    TypeText,
    Wait,
    action_to_call,
    call_to_actions,
    parse_response,
)
from qwen_gui_agent.actions.models import ACTION_BY_TYPE
from qwen_gui_agent.actions.tools import TOOLS
from qwen_gui_agent.actions.translate import ACTION_NAMES

PHONE = Frame(1080, 2400)   # model 1092x2408: finer than the screen on both axes
DESKTOP = Frame(1920, 1080)  # model 1932x1092: finer too
QHD = Frame(2560, 1440)      # model 2548x1428: coarser than the screen on both axes

ACTIONS: list[Action] = [
    Click(x=10, y=20),
    Click(x=1000, y=900, button="right"),
    Click(x=5, y=6, button="middle"),
    Click(x=500, y=600, count=2),
    Click(x=501, y=602, count=3),
    LongPress(x=30, y=40, duration=2.5),
    Move(x=700, y=800),
    Drag(x=1, y=2, to_x=300, to_y=400),
    Drag(x=100, y=1000, to_x=100, to_y=10, duration=1.5),
    Scroll(dy=300),
    Scroll(dy=-120, x=40, y=50),
    Scroll(dx=-80),
    Scroll(dx=45, x=1, y=1),
    TypeText(text="héllo ✓ 你好\n"),
    Key(keys=["ctrl", "shift", "t"]),
    Key(keys=["volume_up"]),
    Key(keys=["ctrl", "+"]),
    SystemButton(button="back"),
    SystemButton(button="home"),
    SystemButton(button="menu"),
    SystemButton(button="enter"),
    OpenApp(name="Settings"),
    Navigate(url="https://example.org/path?q=1"),
    Wait(seconds=2.0),
    Wait(seconds=0.5),
    Answer(text="The price is $42."),
    Terminate(status="success"),
    Terminate(status="failure"),
]


def test_the_examples_cover_every_action_type() -> None:
    assert {a.type for a in ACTIONS} == set(ACTION_BY_TYPE)


@pytest.mark.parametrize("tool", ["computer_use", "mobile_use"])
@pytest.mark.parametrize("frame", [PHONE, DESKTOP], ids=["phone", "desktop"])
@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.type)
def test_action_call_action_round_trip(action: Action, frame: Frame, tool: str) -> None:
    call = action_to_call(action, frame, tool)
    assert call["name"] == tool
    assert call_to_actions(call, frame) == [action]


@pytest.mark.parametrize("tool", ["computer_use", "mobile_use"])
@pytest.mark.parametrize("action", ACTIONS, ids=lambda a: a.type)
def test_call_action_call_round_trip_on_a_coarser_model_image(action: Action, tool: str) -> None:
    call = action_to_call(action, QHD, tool)
    again = call_to_actions(call, QHD)
    assert [action_to_call(a, QHD, tool) for a in again] == [call]


@pytest.mark.parametrize("tool", ["computer_use", "mobile_use"])
def test_exported_calls_parse_back_as_model_text(tool: str) -> None:
    # The SFT export path: action -> call -> the text the model would write -> action.
    text = "\n".join(
        f"<tool_call>\n{json.dumps(action_to_call(a, PHONE, tool), ensure_ascii=False)}\n</tool_call>"
        for a in ACTIONS
    )
    assert parse_response(text, PHONE, tool_name=tool).actions == ACTIONS


def test_trained_spellings_are_preferred() -> None:
    assert action_to_call(Click(x=1, y=2), PHONE, "mobile_use")["arguments"]["action"] == "click"
    assert action_to_call(Click(x=1, y=2), DESKTOP, "computer_use")["arguments"]["action"] \
        == "left_click"
    assert action_to_call(Drag(x=1, y=2, to_x=3, to_y=4), PHONE, "mobile_use")["arguments"] \
        == {"action": "swipe", "coordinate": [1, 2], "coordinate2": [3, 4]}
    assert action_to_call(Key(keys=["volume_up"]), PHONE, "mobile_use")["arguments"] \
        == {"action": "key", "text": "volume_up"}
    assert action_to_call(Key(keys=["ctrl", "c"]), DESKTOP, "computer_use")["arguments"] \
        == {"action": "key", "keys": ["ctrl", "c"]}
    assert action_to_call(SystemButton(button="back"), PHONE, "mobile_use")["arguments"] \
        == {"action": "system_button", "button": "Back"}
    assert action_to_call(OpenApp(name="Clock"), PHONE, "mobile_use")["arguments"] \
        == {"action": "open", "text": "Clock"}
    assert action_to_call(Scroll(dy=100), DESKTOP, "computer_use")["arguments"] \
        == {"action": "scroll", "pixels": -100}


def test_call_coordinates_are_model_pixels() -> None:
    call = action_to_call(Click(x=1079, y=2399), PHONE, "mobile_use")
    assert call["arguments"]["coordinate"] == [1091, 2407]


def test_untranslatable_actions_raise() -> None:
    with pytest.raises(ValueError, match="both axes"):
        action_to_call(Scroll(dx=5, dy=5), DESKTOP, "computer_use")
    with pytest.raises(ValueError, match="right"):
        action_to_call(Click(x=1, y=1, button="right", count=2), DESKTOP, "computer_use")
    with pytest.raises(ValueError, match="unknown tool"):
        action_to_call(Click(x=1, y=1), DESKTOP, "browser_use")


def call(args: dict, name: str = "computer_use") -> dict:
    return {"name": name, "arguments": args}


def one(args: dict, frame: Frame = DESKTOP, name: str = "computer_use", pointer=None) -> Action:
    actions = call_to_actions(call(args, name), frame, pointer)
    assert len(actions) == 1
    return actions[0]


SAMPLE_ARGS = {
    "coordinate": [10, 10], "coordinate2": [20, 30], "keys": ["ctrl", "c"], "text": "home",
    "pixels": 3, "time": 2, "status": "success", "button": "Back", "url": "https://a.example",
}


@pytest.mark.parametrize(
    ("tool", "action"),
    [(t.name, a.name) for t in TOOLS.values() for a in t.actions + t.extensions],
)
def test_every_action_in_the_tool_table_parses(tool: str, action: str) -> None:
    documented = next(a for a in TOOLS[tool].actions + TOOLS[tool].extensions if a.name == action)
    args = {"action": action, **{p: SAMPLE_ARGS[p] for p in documented.params}}
    assert action in ACTION_NAMES
    result = call_to_actions(call(args, tool), DESKTOP, pointer=(5, 5))
    assert len(result) == 1


def test_clicks() -> None:
    x, y = DESKTOP.to_screen(966, 546)
    assert one({"action": "left_click", "coordinate": [966, 546]}) == Click(x=x, y=y)
    assert one({"action": "click", "coordinate": [966, 546]}) == Click(x=x, y=y)
    assert one({"action": "tap", "coordinate": [966, 546]}) == Click(x=x, y=y)
    assert one({"action": "Left Click", "coordinate": [966, 546]}) == Click(x=x, y=y)
    assert one({"action": "right_click", "coordinate": [966, 546]}).button == "right"
    assert one({"action": "middle_click", "coordinate": [966, 546]}).button == "middle"
    assert one({"action": "double_click", "coordinate": [966, 546]}).count == 2
    assert one({"action": "triple_click", "coordinate": [966, 546]}).count == 3
    assert one({"action": "double_tap", "coordinate": [966, 546]}).count == 2
    assert one({"action": "long_click", "coordinate": [966, 546]}) == LongPress(x=x, y=y)
    assert one({"action": "key_press", "keys": ["enter"]}) == Key(keys=["enter"])


def test_click_without_coordinate_acts_at_the_pointer() -> None:
    assert one({"action": "left_click"}, pointer=(12, 34)) == Click(x=12, y=34)
    with pytest.raises(ParseError, match="coordinate"):
        one({"action": "left_click"})


def test_left_click_drag_starts_at_the_pointer() -> None:
    end = DESKTOP.to_screen(400, 500)
    drag = one({"action": "left_click_drag", "coordinate": [400, 500]}, pointer=(7, 8))
    assert drag == Drag(x=7, y=8, to_x=end[0], to_y=end[1])
    start = DESKTOP.to_screen(100, 200)
    drag = one({"action": "left_click_drag", "start_coordinate": [100, 200],
                "coordinate": [400, 500]}, pointer=(7, 8))
    assert (drag.x, drag.y) == start
    with pytest.raises(ParseError, match="mouse_move") as err:
        one({"action": "left_click_drag", "coordinate": [400, 500]})
    assert "start_coordinate" in str(err.value)


@pytest.mark.parametrize(
    ("args", "name"),
    [
        ({"action": "left_click_drag", "start_coordinate": [100, 200], "end_coordinate": [400, 500]},
         "computer_use"),
        ({"action": "left_click_drag", "coordinate1": [100, 200], "coordinate2": [400, 500]},
         "computer_use"),
        ({"action": "left_click_drag", "coordinate": [100, 200], "coordinate2": [400, 500]},
         "computer_use"),
        ({"action": "drag", "start_coordinate": [100, 200], "end_coordinate": [400, 500]},
         "mobile_use"),
        ({"action": "swipe", "start_coordinate": [100, 200], "end_coordinate": [400, 500]},
         "mobile_use"),
        ({"action": "swipe", "coordinate1": [100, 200], "coordinate2": [400, 500]}, "mobile_use"),
    ],
)
def test_drag_start_and_end_spellings(args: dict, name: str) -> None:
    (x, y), (to_x, to_y) = DESKTOP.to_screen(100, 200), DESKTOP.to_screen(400, 500)
    assert one(args, name=name, pointer=(7, 8)) == Drag(x=x, y=y, to_x=to_x, to_y=to_y)


def test_drag_to_an_explicit_end_starts_at_the_pointer() -> None:
    to_x, to_y = DESKTOP.to_screen(400, 500)
    drag = one({"action": "left_click_drag", "end_coordinate": [400, 500]}, pointer=(7, 8))
    assert drag == Drag(x=7, y=8, to_x=to_x, to_y=to_y)


def test_swipe_and_long_press() -> None:
    a, b = PHONE.to_screen(100, 2000), PHONE.to_screen(100, 300)
    swipe = one({"action": "swipe", "coordinate": [100, 2000], "coordinate2": [100, 300]},
                PHONE, "mobile_use")
    assert swipe == Drag(x=a[0], y=a[1], to_x=b[0], to_y=b[1])
    press = one({"action": "long_press", "coordinate": [100, 300], "time": 3}, PHONE, "mobile_use")
    assert press == LongPress(x=b[0], y=b[1], duration=3)
    assert one({"action": "long_press", "coordinate": [100, 300]}, PHONE).duration == 1.0


def test_scroll_signs() -> None:
    # Qwen: positive pixels scroll up; unified: dy > 0 scrolls down.
    assert one({"action": "scroll", "pixels": 5}) == Scroll(dy=-5)
    assert one({"action": "scroll", "pixels": -300}) == Scroll(dy=300)
    assert one({"action": "hscroll", "pixels": 40}) == Scroll(dx=40)
    x, y = DESKTOP.to_screen(50, 60)
    assert one({"action": "scroll", "pixels": -2, "coordinate": [50, 60]}) == Scroll(x=x, y=y, dy=2)
    with pytest.raises(ParseError, match="pixels"):
        one({"action": "scroll"})
    with pytest.raises(ParseError):
        one({"action": "scroll", "pixels": 0})


@pytest.mark.parametrize(
    ("text", "keys"),
    [
        ("KEYCODE_VOLUME_UP", ["volume_up"]), ("volume_up", ["volume_up"]),
        ("KEYCODE_HOME", ["home"]), ("power", ["power"]), ("Enter", ["enter"]),
        ("ctrl+c", ["ctrl", "c"]),
    ],
)
def test_mobile_key_text(text: str, keys: list[str]) -> None:
    assert one({"action": "key", "text": text}, PHONE, "mobile_use") == Key(keys=keys)


def test_computer_keys() -> None:
    assert one({"action": "key", "keys": ["Control", "Return"]}) == Key(keys=["ctrl", "enter"])
    assert one({"action": "key", "keys": ["ctrl+shift+t"]}) == Key(keys=["ctrl", "shift", "t"])
    assert one({"action": "key", "keys": "cmd+a"}) == Key(keys=["super", "a"])
    assert one({"action": "key", "keys": ["Page Down"]}) == Key(keys=["pagedown"])
    assert one({"action": "key", "keys": ["ctrl-a"]}) == Key(keys=["ctrl", "a"])
    assert one({"action": "key", "keys": ["ctrl", "minus"]}) == Key(keys=["ctrl", "-"])
    assert one({"action": "key", "keys": "ctrl+plus"}) == Key(keys=["ctrl", "+"])
    with pytest.raises(ParseError, match="unknown key"):
        one({"action": "key", "keys": ["hyperdrive"]})
    with pytest.raises(ParseError, match=r"unknown key 'x+\.\.\.;") as err:
        one({"action": "key", "keys": ["x" * 5000]})
    assert len(str(err.value)) < 1000
    with pytest.raises(ParseError, match="keys"):
        one({"action": "key"})
    with pytest.raises(ParseError, match="keys"):
        one({"action": "key", "keys": []})


@pytest.mark.parametrize("button", ["Back", "Home", "Menu", "Enter", "back", "HOME"])
def test_system_buttons(button: str) -> None:
    expected = SystemButton(button=button.lower())
    assert one({"action": "system_button", "button": button}, PHONE, "mobile_use") == expected


def test_open_wait_answer_terminate_type() -> None:
    assert one({"action": "open", "text": "Chrome"}, PHONE, "mobile_use") == OpenApp(name="Chrome")
    assert one({"action": "open", "text": "https://x.org"}, PHONE) == Navigate(url="https://x.org")
    assert one({"action": "open_app", "app_name": "Files"}) == OpenApp(name="Files")
    assert one({"action": "navigate", "url": "about:blank"}) == Navigate(url="about:blank")
    assert one({"action": "wait", "time": 3}) == Wait(seconds=3)
    assert one({"action": "wait", "time": "2.5"}) == Wait(seconds=2.5)
    assert one({"action": "wait"}) == Wait(seconds=1.0)
    assert one({"action": "answer", "text": "Paris"}) == Answer(text="Paris")
    assert one({"action": "terminate", "status": "SUCCESS"}) == Terminate(status="success")
    assert one({"action": "terminate", "status": "failure"}) == Terminate(status="failure")
    assert one({"action": "terminate", "status": "fail"}) == Terminate(status="failure")
    assert one({"action": "terminate", "status": "Failed"}) == Terminate(status="failure")
    assert one({"action": "input", "text": "hi"}) == TypeText(text="hi")
    assert one({"action": "type", "text": 12345}) == TypeText(text="12345")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"action": "teleport"}, "unknown action 'teleport'"),
        ({}, "action"),
        ({"action": "left_click", "coordinate": [1, 2, 3]}, "two numbers"),
        ({"action": "left_click", "coordinate": [1]}, "two numbers"),
        ({"action": "left_click", "coordinate": [1, 2, 3, 4000]}, r"y in 0\.\.1091"),
        ({"action": "left_click", "coordinate": {"x": 1, "y": 2, "z": 3}}, r"\[x, y\]"),
        ({"action": "left_click", "x": 1}, "needs `coordinate`"),
        ({"action": "left_click", "coordinate": "here"}, r"\[x, y\]"),
        ({"action": "left_click", "coordinate": ["a", 1]}, "must be a number"),
        ({"action": "left_click", "coordinate": [True, 1]}, "must be a number"),
        ({"action": "left_click", "coordinate": {"x": 1}}, r"\[x, y\]"),
        ({"action": "left_click", "coordinate": [1932, 5]}, r"x must be in 0\.\.1931"),
        ({"action": "left_click", "coordinate": [5, -1]}, r"y in 0\.\.1091"),
        ({"action": "type"}, "text"),
        ({"action": "type", "text": ""}, "text"),
        ({"action": "type", "text": ["a"]}, "string"),
        ({"action": "terminate"}, "status"),
        ({"action": "terminate", "status": "done"}, "status"),
        ({"action": "system_button", "button": "Power"}, "button"),
        ({"action": "wait", "time": "soon"}, "number"),
        ({"action": "wait", "time": 10_000}, "seconds"),
        ({"action": "mouse_move"}, "coordinate"),
        ({"action": "swipe", "coordinate": [1, 1]}, "coordinate2"),
    ],
)
def test_strict_cases(args: dict, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        one(args)


def test_unknown_function_and_bad_arguments() -> None:
    with pytest.raises(ParseError, match="unknown function 'click'"):
        call_to_actions({"name": "click", "arguments": {"action": "left_click"}}, DESKTOP)
    with pytest.raises(ParseError, match="JSON object"):
        call_to_actions({"name": "computer_use", "arguments": [1, 2]}, DESKTOP)
    with pytest.raises(ParseError, match="JSON object"):
        call_to_actions(["computer_use"], DESKTOP)  # type: ignore[arg-type]


def test_arguments_as_a_json_string() -> None:
    arguments = '{"action": "left_click", "coordinate": [10, 20]}'
    assert call_to_actions({"name": "computer_use", "arguments": arguments}, DESKTOP) \
        == [Click(x=10, y=20)]


@pytest.mark.parametrize("coordinate", [[100, 200], [100.0, 200.0], ["100", "200"], ["100.0", "2e2"], "[100, 200]",
                                        "(100, 200)", "100, 200", (100, 200), "(100\uff0c200)"])
def test_coordinate_spellings(coordinate) -> None:
    assert one({"action": "left_click", "coordinate": coordinate}) == Click(
        x=DESKTOP.to_screen(100, 200)[0], y=DESKTOP.to_screen(100, 200)[1]
    )


@pytest.mark.parametrize(
    "args",
    [
        {"action": "left_click", "coordinate": {"x": 966, "y": 546}},
        {"action": "left_click", "x": 966, "y": 546},
        {"action": "left_click", "x": "966", "y": "546"},
        {"action": "left_click", "point": [966, 546]},  # Qwen2.5-VL-72B
        {"action": "left_click", "coordinates": [966, 546]},
        {"action": "left_click", "position": [966, 546]},
        # a box, as Qwen2.5-VL grounds elements: the click goes to its centre
        {"action": "left_click", "coordinate": [916, 526, 1016, 566]},
        {"action": "left_click", "coordinate": "[916, 526, 1016, 566]"},
    ],
)
def test_unambiguous_coordinate_spellings(args: dict) -> None:
    assert one(args) == Click(x=960, y=540)
