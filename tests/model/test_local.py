"""QwenPolicy on the tiny model: the real processor -> template -> generate -> decode -> parse path."""

from __future__ import annotations

import time

import huggingface_hub.constants
import pytest
import torch
from PIL import Image
from transformers import LogitsProcessor, LogitsProcessorList

from qwen_gui_agent.actions import Click, Frame, LongPress, Terminate, TypeText
from qwen_gui_agent.actions.decision import HistoryEntry
from qwen_gui_agent.actions.frame import ImageBounds
from qwen_gui_agent.actions.observation import Observation
from qwen_gui_agent.actions.prompt import build_messages, frame_for
from qwen_gui_agent.errors import (
    ModelNotFound,
    ModelOutOfMemory,
    ParseError,
    ScriptExhausted,
    UsageError,
)
from qwen_gui_agent.model import QwenPolicy
from qwen_gui_agent.model.forcing import ForcedOutput, tool_call_text
from qwen_gui_agent.model.policy import Policy
from qwen_gui_agent.model.processor import ImageOnlyQwenProcessor


def _obs(width: int, height: int, env: str = "desktop") -> Observation:
    image = Image.new("RGB", (width, height), (255, 255, 255))
    image.paste((0, 120, 255), (width // 4, height // 4, width // 2, height // 2))
    return Observation(image=image, env=env)


def test_loads_checkpoint_directory_with_image_only_processor(tiny_model_dir) -> None:
    policy = QwenPolicy(model=tiny_model_dir, device="cpu")  # the default is CUDA where there is one
    assert isinstance(policy, Policy)
    assert isinstance(policy.processor, ImageOnlyQwenProcessor)
    assert (policy.device.type, policy.dtype, policy.attn_implementation) == ("cpu", torch.float32, "sdpa")
    assert policy.image_bounds == ImageBounds(4 * 28 * 28, 16384 * 28 * 28)
    assert policy.generate_kwargs == {"max_new_tokens": 256, "do_sample": False}


@pytest.mark.parametrize("size", [(1080, 2400), (1366, 768), (641, 479)])
def test_processor_keeps_the_model_size(scripted_policy, size) -> None:
    """Image tokens equal Frame.image_tokens: the processor did not resize again."""
    policy = scripted_policy(["x"])
    obs = _obs(*size)
    frame = frame_for(obs)
    inputs = policy.prepare(build_messages("t", obs, [], frame))
    image_token = policy.model.config.image_token_id
    assert int((inputs["input_ids"] == image_token).sum()) == frame.image_tokens
    assert inputs["image_grid_thw"].tolist() == [[1, frame.model_height // 14, frame.model_width // 14]]


def test_narrow_pixel_bounds_still_a_fixed_point(scripted_policy) -> None:
    policy = scripted_policy(["x"], min_pixels=200 * 28 * 28, max_pixels=300 * 28 * 28)
    obs = _obs(1920, 1080)
    frame = frame_for(obs, policy.image_bounds)
    assert frame.image_tokens <= 300
    inputs = policy.prepare(build_messages("t", obs, [], frame))
    assert int((inputs["input_ids"] == policy.model.config.image_token_id).sum()) == frame.image_tokens


def test_policy_bounds_win_over_the_processors_own(tiny_model, tiny_model_dir) -> None:
    """A processor configured to shrink images further still keeps the policy's size."""
    from qwen_gui_agent.model.processor import load_processor

    model, _ = tiny_model
    narrow = load_processor(tiny_model_dir, max_pixels=100 * 28 * 28)
    policy = QwenPolicy(model, processor=narrow, max_pixels=400 * 28 * 28)
    obs = _obs(1000, 800)
    frame = frame_for(obs, policy.image_bounds)
    assert 100 < frame.image_tokens <= 400
    inputs = policy.prepare(build_messages("t", obs, [], frame))
    assert int((inputs["input_ids"] == model.config.image_token_id).sum()) == frame.image_tokens


def test_unforced_generation_matches_bare_generate(tiny_model) -> None:
    """The policy's text is exactly what model.generate + decode give on the same inputs."""
    model, processor = tiny_model
    policy = QwenPolicy(model, processor=processor, max_new_tokens=12)
    obs = _obs(560, 420)
    messages = build_messages("t", obs, [], frame_for(obs))
    completion = policy._complete(messages)
    inputs = policy.prepare(messages)
    bare = model.generate(**inputs, max_new_tokens=12, do_sample=False)
    expected = processor.tokenizer.decode(bare[0, inputs["input_ids"].shape[1]:],
                                          skip_special_tokens=True)
    assert completion.text == expected
    assert completion.prompt_tokens == inputs["input_ids"].shape[1]
    assert completion.output_tokens == bare.shape[1] - inputs["input_ids"].shape[1]


@pytest.mark.parametrize("screen, env, point", [
    ((1080, 2400), "android", (1000, 2300)),
    ((1366, 768), "desktop", (683, 384)),
    ((1920, 1080), "browser", (1919, 1079)),
    ((2560, 1440), "desktop", (37, 1201)),
])
def test_forced_click_maps_to_screenshot_pixels(tiny_model, screen, env, point) -> None:
    model, processor = tiny_model
    frame = Frame(*screen)
    mx, my = frame.to_model(*point)
    tool = "mobile_use" if env == "android" else "computer_use"
    name = "click" if env == "android" else "left_click"
    raw = tool_call_text({"name": tool, "arguments": {"action": name, "coordinate": [mx, my]}},
                         thought="The target is there.")
    policy = QwenPolicy(model, processor=processor,
                        logits_processor=ForcedOutput(raw, processor.tokenizer))
    decision = policy.decide("Tap the target", _obs(*screen, env), [])
    assert decision.raw == raw
    assert decision.thought == "The target is there."
    assert decision.model_size == frame.model_size
    assert decision.model_calls == [{"name": tool, "arguments": {"action": name, "coordinate": [mx, my]}}]
    assert decision.action == Click(x=frame.to_screen(mx, my)[0], y=frame.to_screen(mx, my)[1])
    # One model pixel covers at most ~1 screenshot pixel at these sizes.
    assert abs(decision.action.x - point[0]) <= 1 and abs(decision.action.y - point[1]) <= 1
    assert decision.output_tokens == len(processor.tokenizer.encode(raw)) + 1
    assert decision.prompt_tokens > frame.image_tokens
    assert set(decision.timings) == {"preprocess", "generate", "parse"}
    assert all(v >= 0 for v in decision.timings.values())
    assert decision.prompt[1]["content"][-1] == {"type": "image", "width": frame.model_width,
                                                 "height": frame.model_height}


def test_scripted_policy_plays_a_run_then_stops(scripted_policy) -> None:
    screen = (800, 600)
    plan = [Click(x=100, y=200), TypeText(text="naïve café"), Terminate(status="success")]
    policy = scripted_policy(plan, screen=screen, thoughts=["first", None, "done"])
    history: list[HistoryEntry] = []
    for expected in plan:
        decision = policy.decide("fill the form", _obs(*screen), history)
        assert decision.actions == (expected,)
        history.append(HistoryEntry(actions=list(decision.actions), raw=decision.raw,
                                    thought=decision.thought, screen_size=screen))
    assert policy.logits_processor.used == 3
    last_prompt = decision.prompt[1]["content"][0]["text"]
    assert '"text": "naïve café"}}; ' in last_prompt and "Step 3" not in last_prompt
    with pytest.raises(ScriptExhausted):
        policy.decide("fill the form", _obs(*screen), history)


def test_scripted_policy_mobile_long_press(scripted_policy) -> None:
    screen = (1080, 2400)
    policy = scripted_policy([LongPress(x=540, y=1200, duration=2.0)], screen=screen, env="android")
    decision = policy.decide("hold", _obs(*screen, "android"), [])
    assert decision.raw.startswith('<tool_call>\n{"name": "mobile_use"')
    assert decision.action == LongPress(x=540, y=1200, duration=2.0)


def test_unparseable_output_raises_parse_error_with_raw_text(scripted_policy) -> None:
    garbage = "I think I should probably click somewhere near the top."
    policy = scripted_policy([garbage])
    with pytest.raises(ParseError) as info:
        policy.decide("t", _obs(640, 480), [])
    assert info.value.text == garbage
    assert "<tool_call>" in str(info.value)


def test_missing_local_path_names_the_fix(tmp_path) -> None:
    with pytest.raises(ModelNotFound, match="no such folder; pass the folder that holds config.json"):
        QwenPolicy(model=str(tmp_path / "no-such-model"))
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.json").write_text("{}")
    with pytest.raises(ModelNotFound, match="no \\*.safetensors weights"):
        QwenPolicy(model=str(tmp_path / "half"))


def test_offline_hub_id_names_the_fix_in_seconds(monkeypatch, tmp_path) -> None:
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    started = time.monotonic()
    with pytest.raises(ModelNotFound) as info:
        QwenPolicy(model="Qwen/Qwen2.5-VL-3B-Instruct", cache_dir=str(tmp_path))
    assert time.monotonic() - started < 10  # not a minute of hub retries
    message = str(info.value)
    assert "HF_HUB_OFFLINE" in message
    assert "hf download Qwen/Qwen2.5-VL-3B-Instruct --local-dir DIR" in message


class _OutOfMemoryOnFirstStep(LogitsProcessor):
    """Raises what CUDA raises when memory runs out, from inside generate."""

    def __call__(self, input_ids, scores):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_out_of_memory_suggests_lower_max_pixels(tiny_model) -> None:
    model, processor = tiny_model
    policy = QwenPolicy(model, processor=processor, max_pixels=1000 * 28 * 28,
                        logits_processor=_OutOfMemoryOnFirstStep())
    with pytest.raises(ModelOutOfMemory, match=r"max_pixels=\d+") as info:
        policy.decide("t", _obs(640, 480), [])
    assert f"max_pixels={1000 * 28 * 28 // 4}" in str(info.value)


def test_loaded_model_needs_its_processor(tiny_model) -> None:
    with pytest.raises(ValueError, match="processor"):
        QwenPolicy(tiny_model[0])
    with pytest.raises(UsageError, match="revision"):
        QwenPolicy(tiny_model[0], processor=tiny_model[1], revision="main")


def test_forced_output_works_through_bare_generate(tiny_model) -> None:
    model, processor = tiny_model
    texts = ['<tool_call>\n{"name": "computer_use", "arguments": {"action": "wait", "time": 2}}\n</tool_call>',
             "second answer"]
    forced = ForcedOutput(texts, processor.tokenizer)
    obs = _obs(280, 280)
    policy = QwenPolicy(model, processor=processor)
    inputs = policy.prepare(build_messages("t", obs, [], frame_for(obs)))
    outs = []
    for _ in texts:
        out = model.generate(**inputs, max_new_tokens=64, do_sample=False,
                             logits_processor=LogitsProcessorList([forced]))
        outs.append(processor.tokenizer.decode(out[0, inputs["input_ids"].shape[1]:],
                                               skip_special_tokens=True))
    assert outs == texts
    with pytest.raises(ScriptExhausted):
        model.generate(**inputs, max_new_tokens=4, logits_processor=LogitsProcessorList([forced]))


def test_settings_resolution_and_validation(tiny_model) -> None:
    from qwen_gui_agent.model.local import _resolve_dtype, default_attention

    cpu = torch.device("cpu")
    assert _resolve_dtype(None, cpu) is torch.float32
    assert _resolve_dtype("bfloat16", cpu) is torch.bfloat16
    with pytest.raises(ValueError, match="unknown dtype"):
        _resolve_dtype("float33", cpu)
    assert default_attention(cpu) == "sdpa"
    # flash-attention kernels reject float32 whether or not flash_attn is installed
    assert default_attention(torch.device("cuda"), torch.float32) == "sdpa"
    model, processor = tiny_model
    with pytest.raises(ValueError, match="history_images"):
        QwenPolicy(model, processor=processor, history_images=-1)
    with pytest.raises(ValueError, match="min_pixels"):
        QwenPolicy(model, processor=processor, min_pixels=5000, max_pixels=4000)
    with pytest.raises(ValueError, match="at least one"):
        ForcedOutput([], processor.tokenizer)
    with pytest.raises(ValueError, match="<\\|nope\\|>"):
        ForcedOutput("x", processor.tokenizer, end_token="<|nope|>")


def test_an_unreachable_hub_is_found_out_in_seconds(monkeypatch, tmp_path) -> None:
    from fixtures.ports import closed_port

    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    started = time.monotonic()
    with pytest.raises(ModelNotFound, match=r"is unreachable \(ConnectError\)"):
        QwenPolicy(model="Qwen/Qwen2.5-VL-3B-Instruct", cache_dir=str(tmp_path))
    assert time.monotonic() - started < 10
