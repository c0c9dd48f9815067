"""The fast preprocessing path gives what the stock Qwen2-VL processor gives, value for value."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import torch
from PIL import Image
from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import Qwen2VLImageProcessorPil

from qwen_gui_agent.actions.decision import HistoryEntry
from qwen_gui_agent.actions.dialects import get_dialect
from qwen_gui_agent.actions.observation import Observation
from qwen_gui_agent.actions.prompt import build_messages, frame_for, images_of
from qwen_gui_agent.errors import UsageError
from qwen_gui_agent.model.local import QwenPolicy
from qwen_gui_agent.model.preprocess import FastInputs, VisionSpec, pixel_inputs, to_rgb

MIN, MAX = 4 * 28 * 28, 16384 * 28 * 28


def _noise(width: int, height: int, mode: str = "RGB") -> Image.Image:
    """Random pixels: every resampling or rounding difference shows."""
    rng = np.random.default_rng(width * 10007 + height)
    bands = {"RGB": 3, "RGBA": 4, "LA": 2, "L": 1}[mode if mode != "P" else "RGB"]
    data = rng.integers(0, 256, (height, width, bands), dtype=np.uint8)
    image = Image.fromarray(data.squeeze(-1) if bands == 1 else data, mode if mode != "P" else "RGB")
    if mode == "P":
        image = image.quantize(64)
        image.info["transparency"] = 3
    return image


def _stock(min_pixels: int = MIN, max_pixels: int = MAX, **kwargs: Any) -> Qwen2VLImageProcessorPil:
    return Qwen2VLImageProcessorPil(min_pixels=min_pixels, max_pixels=max_pixels, patch_size=14,
                                    temporal_patch_size=2, merge_size=2, **kwargs)


def _assert_same_pixels(images: list[Image.Image], stock: Qwen2VLImageProcessorPil,
                        **bounds: int) -> None:
    expected = stock(images, return_tensors="pt")
    spec = VisionSpec.of(stock)
    assert spec is not None
    pixel_values, grid = pixel_inputs(images, spec, **bounds)
    assert grid.tolist() == expected["image_grid_thw"].tolist()
    assert pixel_values.dtype == expected["pixel_values"].dtype == torch.float32
    assert pixel_values.shape == expected["pixel_values"].shape
    assert (pixel_values - expected["pixel_values"]).abs().max().item() <= 1e-5


@pytest.mark.parametrize("width, height, min_pixels, max_pixels", [
    (1, 1, MIN, MAX),                     # rounds to 0x0, scaled up to the minimum
    (37, 1001, MIN, MAX),
    (4000, 20, MIN, MAX),                 # aspect ratio 200, the widest accepted
    (21, 4000, MIN, MAX),                 # very tall
    (9, 13, MIN, MAX),                    # tiny: below min_pixels
    (3840, 2160, MIN, 2048 * 28 * 28),    # 4K above max_pixels: scaled down
    (1920, 1080, MIN, MAX),
    (1080, 2400, MIN, MAX),
    (1366, 768, MIN, MAX),
    (1932, 1092, MIN, MAX),               # already at model size: no resize
    (1920, 1080, 256 * 28 * 28, 300 * 28 * 28),
    (100, 60, 1000 * 28 * 28, 2000 * 28 * 28),
    (641, 479, 56 * 56, 28 * 28 * 1280),  # transformers' own defaults
])
def test_pixels_equal_the_stock_processor(width, height, min_pixels, max_pixels) -> None:
    _assert_same_pixels([_noise(width, height)], _stock(min_pixels, max_pixels))


def test_several_images_concatenate_in_order() -> None:
    images = [_noise(1932, 1092), _noise(640, 480), _noise(37, 1001)]
    _assert_same_pixels(images, _stock())


@pytest.mark.parametrize("mode", ["RGBA", "LA", "L", "P"])
def test_other_modes_convert_like_the_stock_processor(mode) -> None:
    """Alpha is composited over white, as transformers does (not dropped)."""
    image = _noise(300, 200, mode)
    _assert_same_pixels([image], _stock())
    assert to_rgb(image).mode == "RGB"


def test_settings_come_from_the_checkpoint_config() -> None:
    """Another patch size, mean/std and a rescale factor with no exact float32 divisor."""
    stock = Qwen2VLImageProcessorPil(min_pixels=MIN, max_pixels=MAX, patch_size=16, merge_size=2,
                                     temporal_patch_size=2, image_mean=[0.5, 0.5, 0.5],
                                     image_std=[0.5, 0.5, 0.5], rescale_factor=0.00392)
    spec = VisionSpec.of(stock)
    assert (spec.patch_size, spec.bounds.factor, spec.image_mean) == (16, 32, (0.5, 0.5, 0.5))
    _assert_same_pixels([_noise(1366, 768)], stock)


def test_bounds_passed_per_call_override_the_spec() -> None:
    image = _noise(1920, 1080)
    spec = VisionSpec.of(_stock())
    _, grid = pixel_inputs([image], spec, max_pixels=300 * 28 * 28)
    expected = _stock(max_pixels=300 * 28 * 28)(image, return_tensors="pt")["image_grid_thw"]
    assert grid.tolist() == expected.tolist()


def test_only_stock_processors_with_stock_steps_get_a_spec() -> None:
    class Custom(Qwen2VLImageProcessorPil):
        pass

    assert VisionSpec.of(Custom()) is None
    assert VisionSpec.of(_stock(do_normalize=False)) is None
    assert VisionSpec.of(_stock(do_convert_rgb=False)) is None
    with pytest.raises(UsageError, match="at least one image"):
        pixel_inputs([], VisionSpec.of(_stock()))


def _messages(sizes: list[tuple[int, int]], task: str = "Open the settings",
              family: str = "qwen2.5-vl") -> list[dict]:
    """A real prompt of ``family``: past screenshots of ``sizes[:-1]`` shown, the current one last."""
    *past, current = sizes
    history = [HistoryEntry(actions=[], raw="", observation=Observation(image=_noise(*s),
                                                                         env="desktop"))
               for s in past]
    obs = Observation(image=_noise(*current), env="desktop")
    dialect = get_dialect(family)
    return build_messages(task, obs, history, frame_for(obs, dialect=dialect), dialect=dialect,
                          history_images=len(past))


@pytest.mark.parametrize("family", ["qwen2.5-vl", "qwen3-vl"])
@pytest.mark.parametrize("sizes", [[(1920, 1080)], [(1366, 768), (640, 480), (1080, 2400)]])
def test_inputs_equal_the_stock_processor(tiny_family_model, family, sizes) -> None:
    """Qwen3-VL's processor (patch 16, mean/std 0.5, its own template) gets the fast path too."""
    _, processor = tiny_family_model(family)
    messages = _messages(sizes, task="Öffne die Einstellungen, then type 'naïve café' ✓",
                         family=family)
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    images = images_of(messages)
    expected = processor(text=[text], images=images, return_tensors="pt")
    fast = FastInputs.for_processor(processor)
    inputs = fast(text, images)
    assert list(inputs) == list(expected)
    for key in ("input_ids", "attention_mask", "mm_token_type_ids", "image_grid_thw"):
        assert torch.equal(inputs[key], expected[key]), key
    assert (inputs["pixel_values"] - expected["pixel_values"]).abs().max().item() <= 1e-5
    merge = processor.image_processor.merge_size ** 2
    assert int((inputs["input_ids"] == processor.image_token_id).sum()) == int(
        expected["image_grid_thw"].prod(dim=1).sum()) // merge


def test_token_types_only_where_the_processor_returns_them(tiny_model_dir) -> None:
    """Processors of transformers before 5.x return no ``mm_token_type_ids``; neither do we."""
    from qwen_gui_agent.model.processor import load_processor

    processor = load_processor(tiny_model_dir)
    processor.return_mm_token_type_ids = False
    messages = _messages([(640, 480)])
    text = processor.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    expected = processor(text=[text], images=images_of(messages), return_tensors="pt")
    inputs = FastInputs.for_processor(processor)(text, images_of(messages))
    assert list(inputs) == list(expected) == [
        "input_ids", "attention_mask", "pixel_values", "image_grid_thw"]


def test_text_only_prompt_and_stray_vision_tokens(tiny_model) -> None:
    _, processor = tiny_model
    fast = FastInputs.for_processor(processor)
    text = "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n"
    expected = processor(text=[text], return_tensors="pt")
    inputs = fast(text, [])
    assert list(inputs) == list(expected)
    assert all(torch.equal(inputs[k], expected[k]) for k in inputs)
    with pytest.raises(UsageError, match="contains a vision token"):
        fast("type <|image_pad|> " + text.replace("hello", "<|image_pad|>"), [_noise(56, 56)])
    with pytest.raises(UsageError, match="1 <\\|video_pad\\|>"):
        fast("<|video_pad|>", [])


@pytest.mark.parametrize("family", ["qwen2.5-vl", "qwen3-vl"])
def test_policy_fast_path_equals_its_stock_path(tiny_family_model, family) -> None:
    model, processor = tiny_family_model(family)
    fast = QwenPolicy(model, processor=processor)
    stock = QwenPolicy(model, processor=processor, fast_preprocess=False)
    assert fast._fast is not None and stock._fast is None
    messages = _messages([(1280, 800), (1920, 1080)], family=family)
    a, b = fast.prepare(messages), stock.prepare(messages)
    assert list(a) == list(b)
    assert all(torch.equal(a[k], b[k]) for k in a if k != "pixel_values")
    assert (a["pixel_values"] - b["pixel_values"]).abs().max().item() <= 1e-5


def test_policy_falls_back_to_the_stock_processor(tiny_model, tiny_model_dir) -> None:
    """A processor the fast path does not reproduce still works, through the processor."""
    from qwen_gui_agent.model.processor import load_processor

    model, _ = tiny_model
    processor = load_processor(tiny_model_dir)
    processor.image_processor.do_normalize = False
    policy = QwenPolicy(model, processor=processor, max_new_tokens=3)
    assert policy._fast is None
    messages = _messages([(640, 480)])
    inputs = policy.prepare(messages)
    assert inputs["pixel_values"].min().item() >= 0.0  # rescaled only, as configured
    assert policy._complete(messages).output_tokens == 3
