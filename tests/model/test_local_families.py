"""QwenPolicy per family: Qwen3-VL (and its MoE) load without torchvision, the family comes
from the checkpoint, the resized screenshot stays a fixed point of the checkpoint's own
processor, and a family sized for another architecture is refused before any step."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from PIL import Image
from transformers import Qwen3VLForConditionalGeneration, Qwen3VLMoeForConditionalGeneration

from qwen_gui_agent.actions import Click
from qwen_gui_agent.actions.dialects import FamilyError, get_dialect
from qwen_gui_agent.actions.observation import Observation
from qwen_gui_agent.actions.prompt import build_messages, frame_for
from qwen_gui_agent.model import QwenPolicy
from qwen_gui_agent.model.forcing import ForcedOutput
from qwen_gui_agent.model.processor import ImageOnlyQwen3Processor, ImageOnlyQwenProcessor

QWEN3 = get_dialect("qwen3-vl")


def _obs(width: int, height: int, env: str = "desktop") -> Observation:
    image = Image.new("RGB", (width, height), (255, 255, 255))
    image.paste((0, 120, 255), (width // 4, height // 4, width // 2, height // 2))
    return Observation(image=image, env=env)


@pytest.mark.parametrize("family, processor_class", [
    ("qwen2.5-vl", ImageOnlyQwenProcessor),
    ("qwen3-vl", ImageOnlyQwen3Processor),
    ("ui-tars", ImageOnlyQwenProcessor),  # detected by the folder's name
])
def test_a_checkpoint_folder_loads_with_its_family(tiny_family_dir, family, processor_class) -> None:
    policy = QwenPolicy(tiny_family_dir(family), device="cpu")
    assert type(policy.processor) is processor_class
    assert policy.family == family
    assert policy.image_bounds == get_dialect(family).bounds
    if family == "qwen3-vl":
        assert type(policy.model) is Qwen3VLForConditionalGeneration
        assert policy.image_bounds.factor == 32


@pytest.mark.parametrize("size, bounds", [
    ((1080, 2400), {}), ((1366, 768), {}), ((641, 479), {}),
    ((1920, 1080), {"min_pixels": 200 * 32 * 32, "max_pixels": 300 * 32 * 32}),
    ((300, 200), {}),  # below Qwen3-VL's 65536-pixel minimum: scaled up by the frame
])
def test_qwen3_keeps_the_resized_image_as_it_is(tiny_family_model, size, bounds) -> None:
    """Image tokens and grid are the frame's: the processor (factor 32) did not resize again."""
    model, processor = tiny_family_model("qwen3-vl")
    for fast in (True, False):
        policy = QwenPolicy(model, processor=processor, fast_preprocess=fast, **bounds)
        obs = _obs(*size)
        frame = frame_for(obs, policy.image_bounds, policy.dialect)
        width, height = frame.image_size
        assert width % 32 == 0 and height % 32 == 0
        inputs = policy.prepare(build_messages("t", obs, [], frame, dialect=policy.dialect))
        assert inputs["image_grid_thw"].tolist() == [[1, height // 16, width // 16]]
        tokens = int((inputs["input_ids"] == model.config.image_token_id).sum())
        assert tokens == (width // 32) * (height // 32)


def test_qwen3_forced_click_on_the_grid_maps_to_the_screen(tiny_family_model) -> None:
    model, processor = tiny_family_model("qwen3-vl")
    raw = ('Thought: The blue box.\nAction: "Tap the blue box."\n<tool_call>\n{"name": "mobile_use", '
           '"arguments": {"action": "click", "coordinate": [375, 375]}}\n</tool_call>')
    policy = QwenPolicy(model, processor=processor,
                        logits_processor=ForcedOutput(raw, processor.tokenizer))
    decision = policy.decide("Tap the blue box", _obs(1080, 2400, "android"), [])
    assert decision.raw == raw and decision.thought.startswith("Thought: The blue box.")
    assert decision.model_size == (1000, 1000)  # the grid, whatever the screen
    assert decision.action == Click(x=405, y=900)
    assert "The screen's resolution is 999x999" in decision.prompt[0]["content"][0]["text"]


@pytest.mark.parametrize("loaded, family, factors", [
    ("qwen3-vl", "qwen2.5-vl", "multiples of 28 pixels, but this qwen3_vl checkpoint's processor "
                               "in multiples of 32 (patch 16 x merge 2)"),
    ("qwen3-vl", "ui-tars", "multiples of 28"),
    ("qwen2.5-vl", "qwen3-vl", "multiples of 32 pixels, but this qwen2_5_vl checkpoint's "
                               "processor in multiples of 28 (patch 14 x merge 2)"),
])
def test_a_family_sized_for_another_architecture_is_refused(tiny_family_model, loaded, family,
                                                            factors) -> None:
    model, processor = tiny_family_model(loaded)
    with pytest.raises(FamilyError, match="Leave --family out") as caught:
        QwenPolicy(model, processor=processor, family=family)
    assert factors in str(caught.value)


def test_a_qwen3_moe_checkpoint_loads_through_its_own_class(tiny_family_model, tiny_family_dir,
                                                            tmp_path) -> None:
    """``qwen3_vl_moe``: the tiny Qwen3-VL's config with four experts, its tokenizer and processor."""
    from transformers import Qwen3VLMoeConfig

    dense, processor = tiny_family_model("qwen3-vl")
    text = {k: v for k, v in dense.config.text_config.to_dict().items() if k != "model_type"}
    vision = {k: v for k, v in dense.config.vision_config.to_dict().items() if k != "model_type"}
    ids = {k: getattr(dense.config, k) for k in ("image_token_id", "video_token_id",
                                                 "vision_start_token_id", "vision_end_token_id")}
    config = Qwen3VLMoeConfig(
        text_config={**text, "num_experts": 4, "num_experts_per_tok": 2,
                     "moe_intermediate_size": 64, "decoder_sparse_step": 1},
        vision_config=vision, **ids)
    folder = tmp_path / "moe"
    Qwen3VLMoeForConditionalGeneration(config).save_pretrained(folder)
    source = tiny_family_dir("qwen3-vl")
    for name in ("tokenizer.json", "tokenizer_config.json", "preprocessor_config.json",
                 "chat_template.json", "generation_config.json"):
        shutil.copy(source / name, folder / name)

    raw = ('<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
           '"coordinate": [500, 250]}}\n</tool_call>')
    policy = QwenPolicy(folder, device="cpu",
                        logits_processor=ForcedOutput(raw, processor.tokenizer))
    assert type(policy.model) is Qwen3VLMoeForConditionalGeneration
    assert type(policy.processor) is ImageOnlyQwen3Processor
    assert policy.family == "qwen3-vl"
    assert policy.decide("Click", _obs(640, 480), []).action == Click(x=320, y=120)


def test_an_unsupported_architecture_is_named(tmp_path: Path) -> None:
    folder = tmp_path / "llava"
    folder.mkdir()
    (folder / "config.json").write_text('{"model_type": "llava"}')
    (folder / "model.safetensors").write_bytes(b"")
    with pytest.raises(FamilyError, match="cannot load a 'llava' checkpoint locally; supported "
                                          "model types: qwen2_5_vl, qwen3_vl, qwen3_vl_moe"):
        QwenPolicy(folder, device="cpu")
