"""The unified action models: validation, key vocabulary, JSON round trip."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

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
    action_to_dict,
    parse_action,
)
from qwen_gui_agent.actions.keys import KEY_NAMES, normalize_key, split_combo
from qwen_gui_agent.actions.models import ACTION_BY_TYPE, FINAL_ACTIONS

EXAMPLES: list[Action] = [
    Click(x=10, y=20),
    Click(x=0, y=0, button="right", count=2),
    Click(x=5, y=6, button="middle", count=3),
    LongPress(x=3, y=4, duration=2.5),
    Move(x=7, y=8),
    Drag(x=1, y=2, to_x=300, to_y=400, duration=1.25),
    Scroll(dy=120),
    Scroll(x=50, y=60, dx=-40),
    TypeText(text="héllo wörld ✓ 你好\n"),
    Key(keys=["ctrl", "shift", "t"]),
    SystemButton(button="back"),
    OpenApp(name="Settings"),
    Navigate(url="https://example.org/a?b=c"),
    Wait(seconds=2.0),
    Answer(text="42"),
    Terminate(status="failure"),
]


def test_examples_cover_every_action_type() -> None:
    assert {a.type for a in EXAMPLES} == set(ACTION_BY_TYPE)


@pytest.mark.parametrize("action", EXAMPLES, ids=lambda a: a.type)
def test_json_round_trip(action: Action) -> None:
    text = action.model_dump_json()
    assert parse_action(text) == action
    assert parse_action(json.loads(text)) == action
    assert parse_action(action_to_dict(action)) == action
    assert action_to_dict(action)["type"] == action.type


@pytest.mark.parametrize(
    ("cls", "fields"),
    [
        (Click, {"x": -1, "y": 5}),
        (Click, {"x": 5, "y": -3}),
        (Drag, {"x": 1, "y": 1, "to_x": -5, "to_y": 1}),
        (TypeText, {"text": ""}),
        (Answer, {"text": ""}),
        (OpenApp, {"name": ""}),
        (Navigate, {"url": ""}),
        (Click, {"x": 1, "y": 1, "button": "back"}),
        (SystemButton, {"button": "power"}),
        (Click, {"x": 1, "y": 1, "count": 7}),
        (Click, {"x": 1, "y": 1, "count": 0}),
        (Terminate, {"status": "done"}),
        (Scroll, {"dx": 0, "dy": 0}),
        (Scroll, {"x": 5, "dy": 10}),
        (Wait, {"seconds": -1}),
        (Key, {"keys": []}),
        (Key, {"keys": ["hyperspace"]}),
        (Click, {"x": 1, "y": 1, "colour": "red"}),
    ],
)
def test_invalid_values_are_rejected(cls: type, fields: dict) -> None:
    with pytest.raises(ValidationError):
        cls(**fields)


def test_unknown_type_is_rejected() -> None:
    with pytest.raises(ValidationError):
        parse_action({"type": "teleport", "x": 1, "y": 2})


def test_actions_are_immutable() -> None:
    click = Click(x=1, y=2)
    with pytest.raises(ValidationError):
        click.x = 5  # type: ignore[misc]


@pytest.mark.parametrize(
    ("spelling", "name"),
    [
        ("ctrl", "ctrl"), ("Control", "ctrl"), ("CTRL", "ctrl"), ("control_l", "ctrl"),
        ("enter", "enter"), ("Return", "enter"), ("KEYCODE_ENTER", "enter"),
        ("cmd", "super"), ("command", "super"), ("super", "super"), ("Meta", "super"),
        ("win", "super"), ("esc", "escape"), ("Page_Down", "pagedown"), ("PgUp", "pageup"),
        ("KEYCODE_VOLUME_UP", "volume_up"), ("volume-down", "volume_down"),
        ("ArrowLeft", "left"), ("F5", "f5"), ("A", "a"), ("KEYCODE_A", "a"), (" ", "space"),
        ("Page Down", "pagedown"), ("page-up", "pageup"), ("minus", "-"), ("period", "."),
        ("BracketLeft", "["), ("-", "-"),
    ],
)
def test_key_aliases_normalise(spelling: str, name: str) -> None:
    assert normalize_key(spelling) == name
    assert Key(keys=[spelling]).keys == [name]


def test_key_combo_strings_split() -> None:
    assert Key(keys="Ctrl+Shift+T").keys == ["ctrl", "shift", "t"]
    assert split_combo("ctrl++") == ["ctrl", "+"]
    assert split_combo("+") == ["+"]
    assert split_combo("ctrl-shift-t") == ["ctrl", "shift", "t"]
    assert split_combo("volume-down") == ["volume_down"]
    with pytest.raises(ValueError):
        split_combo("ctrl-")


def test_every_vocabulary_name_is_a_fixed_point() -> None:
    assert all(normalize_key(name) == name for name in KEY_NAMES)


@pytest.mark.parametrize("bad", ["", "hyperspace", "ctrl shift", "\x00"])
def test_unknown_keys_raise_value_error(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize_key(bad)


def test_system_button_is_case_insensitive() -> None:
    assert SystemButton(button="Home").button == "home"


def test_final_actions_and_points() -> None:
    assert FINAL_ACTIONS == (Answer, Terminate)
    assert Click(x=3, y=4).point == (3, 4)
    assert Scroll(dy=5).point is None
    assert TypeText(text="a").point is None
