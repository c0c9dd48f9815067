"""The prompt: Qwen2.5-VL's trained agent format for every env, history as text steps."""

from __future__ import annotations

import json

import pytest
from PIL import Image

from qwen_gui_agent.actions import Click, Drag, Frame, Scroll, Terminate, TypeText
from qwen_gui_agent.actions.decision import HistoryEntry
from qwen_gui_agent.actions.dialects.qwen25 import QUERY_PREFIX
from qwen_gui_agent.actions.dialects.toolcall import PROGRESS_PREFIX
from qwen_gui_agent.actions.observation import Observation
from qwen_gui_agent.actions.prompt import (
    build_messages,
    frame_for,
    images_of,
    messages_to_json,
    messages_to_text,
)


def _obs(width: int, height: int, env: str = "desktop", color=(10, 20, 30)) -> Observation:
    return Observation(image=Image.new("RGB", (width, height), color), env=env)


def _system(messages) -> str:
    return messages[0]["content"][0]["text"]


def _user_text(messages) -> str:
    return "".join(p.get("text", "<IMG>") for p in messages[1]["content"])


@pytest.mark.parametrize("env, tool", [("desktop", "computer_use"), ("browser", "computer_use"),
                                       ("android", "mobile_use")])
def test_tool_and_resolution_follow_env_and_frame(env: str, tool: str) -> None:
    obs = _obs(1080, 2400, env) if env == "android" else _obs(1920, 1080, env)
    frame = frame_for(obs)
    messages = build_messages("do it", obs, [], frame)
    system = _system(messages)
    schema = json.loads(system.split("<tools>\n", 1)[1].split("\n</tools>", 1)[0])
    assert schema["function"]["name"] == tool
    assert f"The screen's resolution is {frame.model_width}x{frame.model_height}." in system
    assert system.startswith("You are a helpful assistant.")
    other = {"computer_use": "mobile_use", "mobile_use": "computer_use"}[tool]
    assert f'"name": "{other}"' not in system


def test_user_turn_is_the_cookbook_wording_with_screenshot_last() -> None:
    obs = _obs(1366, 768)
    frame = frame_for(obs)
    messages = build_messages("Open the settings", obs, [], frame)
    content = messages[1]["content"]
    assert [p["type"] for p in content] == ["text", "image"]
    assert content[0]["text"] == (
        "The user query:  Open the settings\n"
        "Task progress (You have done the following operation on the current device): ")
    image = content[-1]["image"]
    assert image.size == frame.model_size == (1372, 756)
    assert image.mode == "RGB"


def test_history_steps_are_model_pixel_calls_with_feedback() -> None:
    screen = (1920, 1080)
    frame = Frame(*screen)
    history = [
        HistoryEntry(actions=[Click(x=960, y=540)], screen_size=screen),
        HistoryEntry(actions=[TypeText(text="héllo")], screen_size=screen,
                     feedback="the action failed: no text field has focus"),
        HistoryEntry(actions=[], raw="I will click", feedback="no tool call found.\n  Reply"),
        HistoryEntry(actions=[Drag(x=0, y=0, to_x=100, to_y=100)], screen_size=screen),
    ]
    messages = build_messages("Say hello", _obs(*screen), history, frame)
    text = messages[1]["content"][0]["text"]
    mx, my = frame.to_model(960, 540)
    tx, ty = frame.to_model(100, 100)
    assert text == (
        QUERY_PREFIX + "Say hello\n" + PROGRESS_PREFIX
        + 'Step 1: {"name": "computer_use", "arguments": {"action": "left_click", '
        f'"coordinate": [{mx}, {my}]}}}}; '
        + 'Step 2: {"name": "computer_use", "arguments": {"action": "type", "text": "héllo"}} '
        "(the action failed: no text field has focus); "
        + "Step 3: (no action; no tool call found. Reply); "  # feedback kept on the line
        + 'Step 4: {"name": "computer_use", "arguments": {"action": "left_click_drag", '
        f'"start_coordinate": [0, 0], "coordinate": [{tx}, {ty}]}}}}; '
    )


def test_history_uses_each_steps_own_screen_size() -> None:
    """A step taken on another screen size maps through that screen's frame."""
    small = (800, 600)
    history = [HistoryEntry(actions=[Click(x=400, y=300)], screen_size=small)]
    frame = Frame(1920, 1080)
    text = build_messages("t", _obs(1920, 1080), history, frame)[1]["content"][0]["text"]
    assert list(Frame(*small).to_model(400, 300)) != list(frame.to_model(400, 300))
    assert f'"coordinate": {list(Frame(*small).to_model(400, 300))}' in text


def test_mobile_history_uses_mobile_vocabulary() -> None:
    screen = (1080, 2400)
    frame = Frame(*screen)
    history = [HistoryEntry(actions=[Click(x=540, y=1200)], screen_size=screen),
               HistoryEntry(actions=[Drag(x=540, y=2000, to_x=540, to_y=400)], screen_size=screen)]
    text = build_messages("t", _obs(*screen, "android"), history, frame)[1]["content"][0]["text"]
    assert '"name": "mobile_use", "arguments": {"action": "click"' in text
    assert '"action": "swipe"' in text and '"coordinate2"' in text


def test_action_without_a_call_stays_visible_in_unified_form() -> None:
    history = [HistoryEntry(actions=[Scroll(dx=30, dy=40)], screen_size=(800, 600))]
    text = build_messages("t", _obs(800, 600), history, Frame(800, 600))[1]["content"][0]["text"]
    assert 'Step 1: {"type": "scroll"' in text and '"dx": 30' in text


def test_past_screenshots_only_when_asked_and_current_stays_last() -> None:
    screen = (1280, 800)
    frame = Frame(*screen)
    history = [
        HistoryEntry(actions=[Click(x=10 * i, y=10)], screen_size=screen,
                     observation=_obs(*screen, color=(i, i, i)))
        for i in range(1, 5)
    ]
    current = _obs(*screen, color=(200, 0, 0))
    plain = build_messages("t", current, history, frame)
    assert len(images_of(plain)) == 1
    shown = build_messages("t", current, history, frame, history_images=2)
    images = images_of(shown)
    assert [im.getpixel((0, 0)) for im in images] == [(3, 3, 3), (4, 4, 4), (200, 0, 0)]
    assert all(im.size == frame.model_size for im in images)
    assert shown[1]["content"][-1]["type"] == "image"
    text = _user_text(shown)
    assert "Step 3: <IMG> {" in text and "Step 4: <IMG> {" in text and "Step 2: {" in text
    with pytest.raises(ValueError, match="history_images"):
        build_messages("t", current, history, frame, history_images=-1)


def test_output_is_deterministic_and_json_able() -> None:
    obs = _obs(1366, 768)
    history = [HistoryEntry(actions=[Terminate(status="failure")], feedback="stuck: same screen")]
    a = messages_to_json(build_messages("t", obs, history, frame_for(obs)))
    b = messages_to_json(build_messages("t", obs, history, frame_for(obs)))
    assert a == b
    assert json.loads(json.dumps(a)) == a
    assert a[1]["content"][-1] == {"type": "image", "width": 1372, "height": 756}
    assert messages_to_text(a) == messages_to_text(build_messages("t", obs, history, frame_for(obs)))


def test_text_form_equals_the_processor_chat_template(tiny_model) -> None:
    _, processor = tiny_model
    obs = _obs(1080, 2400, "android")
    history = [HistoryEntry(actions=[Click(x=5, y=5)], observation=_obs(1080, 2400, "android"))]
    messages = build_messages("t", obs, history, frame_for(obs), history_images=1)
    rendered = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert messages_to_text(messages) == rendered
    assert rendered.count("<|image_pad|>") == 2
