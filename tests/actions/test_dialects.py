"""The dialect registry, family detection, frames, trained prompts and history formats."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qwen_gui_agent.actions import Click, Frame, ParseError, TypeText
from qwen_gui_agent.actions.coordinates import RelativeFrame
from qwen_gui_agent.actions.dialects import (
    DEFAULT_FAMILY,
    FAMILIES,
    FamilyError,
    detect_family,
    get_dialect,
    looks_like,
)
from qwen_gui_agent.actions.tools import system_prompt
from qwen_gui_agent.errors import UsageError

PROMPTS = json.loads((Path(__file__).parent / "corpus" / "prompts.json").read_text("utf-8"))


def test_registry() -> None:
    assert FAMILIES == ("qwen2.5-vl", "qwen3-vl", "ui-tars")
    assert DEFAULT_FAMILY in FAMILIES
    for family in FAMILIES:
        assert get_dialect(family).name == family
        assert get_dialect(f" {family.upper()} ") is get_dialect(family)
    with pytest.raises(FamilyError, match="qwen2.5-vl, qwen3-vl, ui-tars"):
        get_dialect("qwen2-vl")
    assert issubclass(FamilyError, UsageError)


@pytest.mark.parametrize(
    ("config", "name", "family"),
    [
        ({"model_type": "qwen2_5_vl"}, "Qwen/Qwen2.5-VL-7B-Instruct", "qwen2.5-vl"),
        ({"model_type": "qwen2_5_vl"}, "/models/GUI-Owl-7B", "qwen2.5-vl"),
        ({"model_type": "qwen2_5_vl"}, "ByteDance-Seed/UI-TARS-1.5-7B", "ui-tars"),
        ({"model_type": "qwen2_5_vl"}, "/ckpt/ui_tars_1.5_sft", "ui-tars"),
        ({"model_type": "qwen2_5_vl", "_name_or_path": "ByteDance-Seed/UI-TARS-1.5-7B"}, "",
         "ui-tars"),
        ({"model_type": "qwen3_vl"}, "", "qwen3-vl"),
        ({"model_type": "qwen3_vl_moe"}, "Qwen/Qwen3-VL-30B-A3B-Instruct", "qwen3-vl"),
    ],
)
def test_detect_family(config: dict, name: str, family: str) -> None:
    assert detect_family(config, name) == family


@pytest.mark.parametrize(
    ("config", "name", "message"),
    [
        ({"model_type": "qwen2_vl"}, "ByteDance-Seed/UI-TARS-7B-DPO", "UI-TARS 1.0"),
        ({"model_type": "qwen2_vl"}, "Qwen/Qwen2-VL-7B-Instruct", "'qwen2_vl'"),
        ({"model_type": "llava"}, "", "supported model types: qwen2_5_vl"),
        ({}, "", "None"),
    ],
)
def test_detect_family_refuses_what_no_dialect_speaks(
    config: dict, name: str, message: str
) -> None:
    with pytest.raises(FamilyError, match=message):
        detect_family(config, name)


def test_frames_per_family() -> None:
    qwen25, qwen3, tars = (get_dialect(f).frame(1920, 1080) for f in FAMILIES)
    assert qwen25 == Frame(1920, 1080)
    assert (qwen25.model_size, qwen25.image_size) == ((1932, 1092), (1932, 1092))
    assert isinstance(qwen3, RelativeFrame)
    assert (qwen3.model_size, qwen3.image_size) == ((1000, 1000), (1920, 1088))
    assert isinstance(tars, Frame) and tars.bounds.min_pixels == 100 * 28 * 28
    assert tars.model_size == (1932, 1092)


def test_pixel_budget_overrides_keep_the_family_factor() -> None:
    qwen3 = get_dialect("qwen3-vl")
    frame = qwen3.frame(1920, 1080, qwen3.image_bounds(max_pixels=1280 * 32 * 32))
    assert frame.image_size[0] % 32 == 0 and frame.image_size[1] % 32 == 0
    assert frame.image_size[0] * frame.image_size[1] <= 1280 * 32 * 32
    small = get_dialect("ui-tars").frame(200, 100)  # UI-TARS's larger min_pixels upscales
    assert small.model_size[0] * small.model_size[1] >= 100 * 28 * 28
    assert get_dialect("qwen2.5-vl").frame(200, 100).model_size == (196, 112)


@pytest.mark.parametrize(("key", "env"), [("qwen3-vl/android", "android"),
                                          ("qwen3-vl/desktop", "desktop")])
def test_qwen3_system_prompts_are_the_official_text(key: str, env: str) -> None:
    dialect = get_dialect("qwen3-vl")
    prompt = dialect.system_prompt(dialect.frame(1080, 2400), env)
    official = PROMPTS[key]["text"]
    if env == "android":  # the mobile cookbook's prompt, response format included
        assert prompt == official
    else:  # the computer-use schema, then the same response format
        section = "\n\n# Response format"
        assert prompt == official + section + PROMPTS["qwen3-vl/android"]["text"].split(section)[1]
    assert dialect.system_prompt(dialect.frame(640, 480), env) == prompt  # the grid, not the size


@pytest.mark.parametrize(("key", "env"), [("ui-tars/desktop", "desktop"),
                                          ("ui-tars/desktop", "browser"),
                                          ("ui-tars/android", "android")])
def test_ui_tars_prompts_are_the_official_text(key: str, env: str) -> None:
    dialect = get_dialect("ui-tars")
    assert dialect.system_prompt(dialect.frame(1920, 1080), env) == "You are a helpful assistant."
    assert dialect.user_prompt("{instruction}", env) == PROMPTS[key]["text"]
    assert dialect.user_prompt("Open {x}", env).endswith("## User Instruction\nOpen {x}\n")
    with pytest.raises(UsageError, match="assistant turns"):
        dialect.user_prompt("task", env, ["Step one"])


def test_qwen25_prompts_are_todays() -> None:
    dialect, frame = get_dialect("qwen2.5-vl"), Frame(1080, 2400)
    assert dialect.system_prompt(frame, "android") == system_prompt("mobile_use", frame)
    assert dialect.system_prompt(frame, "desktop", extensions=["answer"]) \
        == system_prompt("computer_use", frame, extensions=["answer"])
    assert dialect.user_prompt("Open Clock", "android", ['{"a": 1}', '{"b": 2}']) == (
        "The user query:  Open Clock\nTask progress (You have done the following operation "
        'on the current device): Step 1: {"a": 1}; Step 2: {"b": 2}; '
    )


def test_qwen3_user_prompt_is_the_mobile_cookbooks() -> None:
    text = get_dialect("qwen3-vl").user_prompt(
        "Search for Musk in X and go to his homepage to open the first post", "android",
        ["I opened the X app from the home screen."],
    )
    assert text == (
        "The user query: Search for Musk in X and go to his homepage to open the first post.\n"
        "Task progress (You have done the following operation on the current device): "
        "Step 1: I opened the X app from the home screen.; .\n"
    )


def test_history_lines() -> None:
    click = [Click(x=960, y=540)]
    qwen25, qwen3, tars = (get_dialect(f) for f in FAMILIES)
    assert qwen25.describe_step(click, qwen25.frame(1920, 1080), "desktop") == (
        '{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [966, 546]}}'
    )
    assert qwen3.describe_step(click, qwen3.frame(1920, 1080), "desktop") == (
        '{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [500, 500]}}'
    )
    raw = 'Thought: t\nAction: "Tap \\"Search\\"."\n<tool_call>\n{}\n</tool_call>'
    assert qwen3.describe_step(click, qwen3.frame(1920, 1080), "desktop", raw) == "Tap \\Search\\."
    # A step no call expresses stays in the unified form instead of failing the prompt.
    assert qwen25.describe_step([TypeText(text="x")], Frame(10, 10), "android") == (
        '{"name": "mobile_use", "arguments": {"action": "type", "text": "x"}}'
    )
    assert tars.history_as_turns and not qwen25.history_as_turns
    assert tars.describe_step([], tars.frame(1920, 1080), "desktop") == ""


def test_ui_tars_history_turns_get_their_box_tokens_back() -> None:
    # README_deploy.md's add_box_token: decoding drops the special tokens, the
    # history turn puts them back (and never twice).
    tars = get_dialect("ui-tars")
    frame = tars.frame(1920, 1080)
    raw = ("Thought: drag it\nAction: drag(start_box='(72,74)', end_box='(175, 74)')\n\n"
           "click(start_box='<|box_start|>(1,2)<|box_end|>')")
    assert tars.describe_step([], frame, "desktop", raw) == (
        "Thought: drag it\nAction: drag(start_box='<|box_start|>(72,74)<|box_end|>', "
        "end_box='<|box_start|>(175, 74)<|box_end|>')\n\n"
        "click(start_box='<|box_start|>(1,2)<|box_end|>')"
    )
    assert tars.describe_step([Click(x=960, y=540)], frame, "desktop") == (
        "Action: click(start_box='<|box_start|>(966,546)<|box_end|>')"
    )


UI_TARS_TEXT = "Thought: open it\nAction: click(start_box='(100,200)')"
QWEN_TEXT = ('<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
             '"coordinate": [100, 200]}}\n</tool_call>')


def test_looks_like() -> None:
    assert looks_like(UI_TARS_TEXT) == "ui-tars"
    assert looks_like("Action: click(point='<point>1 2</point>')") == "ui-tars"
    assert looks_like(QWEN_TEXT) == "qwen"
    assert looks_like('{"action": "wait"}') == "qwen"
    assert looks_like("I will click the button.") is None


@pytest.mark.parametrize("family", ["qwen2.5-vl", "qwen3-vl"])
def test_ui_tars_output_to_a_qwen_family_names_ui_tars(family: str) -> None:
    dialect = get_dialect(family)
    with pytest.raises(ParseError, match="--family ui-tars") as caught:
        dialect.parse(UI_TARS_TEXT, dialect.frame(1920, 1080), "desktop")
    assert "<tool_call>" in str(caught.value)  # and still shows the right format
    assert caught.value.text == UI_TARS_TEXT


def test_qwen_output_to_ui_tars_names_the_qwen_families() -> None:
    tars = get_dialect("ui-tars")
    with pytest.raises(ParseError, match="--family qwen2.5-vl or --family qwen3-vl") as caught:
        tars.parse(QWEN_TEXT, tars.frame(1920, 1080), "desktop")
    assert "Action: click(start_box='(x1,y1)')" in str(caught.value)


def test_a_pixel_value_on_the_grid_explains_the_grid() -> None:
    qwen3 = get_dialect("qwen3-vl")
    text = QWEN_TEXT.replace("[100, 200]", "[1500, 200]")
    with pytest.raises(ParseError, match=r"0\.\.999.*relative, not pixels"):
        qwen3.parse(text, qwen3.frame(1920, 1080), "desktop")
    # Other errors stay as they are.
    with pytest.raises(ParseError) as caught:
        qwen3.parse(QWEN_TEXT.replace("left_click", "fly"), qwen3.frame(1920, 1080), "desktop")
    assert "relative" not in str(caught.value)


def test_thinking_models_closing_tag_only() -> None:
    # vLLM serving Qwen3-VL-*-Thinking returns the reasoning with only the closing
    # </think> (QwenLM/Qwen3-VL#1504); the call after it still parses.
    qwen3 = get_dialect("qwen3-vl")
    response = qwen3.parse("The bar is on top.\n</think>\n" + QWEN_TEXT, qwen3.frame(1000, 1000),
                           "desktop")
    assert response.actions == [Click(x=100, y=200)]
    assert response.thought == "The bar is on top."
