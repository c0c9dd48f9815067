"""Screenshot -> Qwen2.5-VL / Qwen3-VL model inputs, without the stock processor's slow path.

Why: the stock image processor (transformers' ``Qwen2VLImageProcessorPil``, the
one that loads without torchvision) turns a 1080p screenshot into
``pixel_values`` in numpy on one CPU core: array -> PIL -> array copies, a
float64 rescale, a transposed normalise and a 50 MB patchify, on the CPU even
when the model sits on a GPU; the processor then tokenizes a prompt holding
~2,700 ``<|image_pad|>`` strings. Here the same arithmetic runs once: a PIL
resize to the ``smart_resize`` size only when the image is not there already
(in this runtime it is, see ``resize_for_model``), an upload of the uint8 image
(6 MB at 1080p, not 50 MB of float patches) to the model's device, then
rescale, normalise and patchify as tensor ops there. The prompt is tokenized
with one placeholder per image and the ids are expanded afterwards.

The result is the stock processor's: the same float32 operations in the same
order (bit-equal on CPU, see tests/model/test_preprocess.py), the same
``image_grid_thw``, ``input_ids``, ``attention_mask`` and ``mm_token_type_ids``.
Patch, merge and temporal sizes, mean/std, rescale factor, pixel bounds and
the resampling filter are read from the checkpoint's image processor. Qwen3-VL
uses the same Qwen2-VL image processor (patch 16, mean/std 0.5) and the same
placeholder expansion, so the fast path serves it too; the tests compare it with
both families' stock processors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from qwen_gui_agent.actions.frame import ImageBounds
from qwen_gui_agent.errors import UsageError

if TYPE_CHECKING:
    from PIL.Image import Image

STOCK_PROCESSORS = frozenset({
    "Qwen2VLImageProcessorPil", "Qwen2VLImageProcessor", "Qwen2VLImageProcessorFast",
})
"""Image processor classes whose steps :class:`VisionSpec` reproduces (exact type:
a subclass may change any step)."""


@dataclass(frozen=True)
class VisionSpec:
    """What a checkpoint's Qwen2-VL image processor does to an image, as plain numbers."""

    patch_size: int
    merge_size: int
    temporal_patch_size: int
    image_mean: tuple[float, ...]
    image_std: tuple[float, ...]
    rescale_factor: float
    bounds: ImageBounds
    """The processor's own pixel budget, its factor ``patch_size * merge_size``."""
    resample: int
    """PIL resampling filter (bicubic for every Qwen2-VL / Qwen2.5-VL checkpoint)."""

    @classmethod
    def of(cls, image_processor: Any) -> VisionSpec | None:
        """The spec of a stock Qwen2-VL image processor, or ``None`` where the fast path
        would not reproduce it: another class, or resize, RGB conversion, rescale or
        normalisation switched off in its config."""
        ip = image_processor
        if (type(ip).__name__ not in STOCK_PROCESSORS
                or not (ip.do_resize and ip.do_convert_rgb and ip.do_rescale and ip.do_normalize)
                or not isinstance(ip.resample, int) or len(ip.image_mean) != 3):
            return None
        return cls(
            patch_size=int(ip.patch_size), merge_size=int(ip.merge_size),
            temporal_patch_size=int(ip.temporal_patch_size),
            image_mean=tuple(float(v) for v in ip.image_mean),
            image_std=tuple(float(v) for v in ip.image_std),
            rescale_factor=float(ip.rescale_factor),
            bounds=ImageBounds(int(ip.size["shortest_edge"]), int(ip.size["longest_edge"]),
                               int(ip.patch_size) * int(ip.merge_size)),
            resample=int(ip.resample),
        )

    def model_size(self, width: int, height: int, min_pixels: int | None = None,
                   max_pixels: int | None = None) -> tuple[int, int]:
        """``(width, height)`` the processor resizes a ``width`` x ``height`` image to."""
        return ImageBounds.of(min_pixels or self.bounds.min_pixels,
                              max_pixels or self.bounds.max_pixels,
                              self.bounds.factor).resize(width, height)


def to_rgb(image: Image) -> Image:
    """``image`` as RGB the way the stock processor converts it (alpha over white)."""
    from PIL import Image as PILImage

    if "A" in image.getbands() or image.info.get("transparency") is not None:
        rgba = image.convert("RGBA")
        white = PILImage.new("RGBA", rgba.size, (255, 255, 255, 255))
        return PILImage.alpha_composite(white, rgba).convert("RGB")
    return image if image.mode == "RGB" else image.convert("RGB")


def pixel_inputs(
    images: Sequence[Image], spec: VisionSpec, *, device: str | torch.device | None = None,
    min_pixels: int | None = None, max_pixels: int | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(pixel_values, image_grid_thw)`` of ``images``, as the stock processor gives them.

    Each image is resized (PIL, the spec's filter) to its ``smart_resize`` size
    unless it is there already; the bounds default to the spec's. Tensors are
    built on ``device`` (default CPU) from the uint8 image.
    """
    if not images:
        raise UsageError("pixel_inputs needs at least one image")
    device = torch.device(device or "cpu")
    p, m, t = spec.patch_size, spec.merge_size, spec.temporal_patch_size
    fitted = []
    for image in images:
        image = to_rgb(image)
        size = spec.model_size(image.width, image.height, min_pixels, max_pixels)
        fitted.append(image if image.size == size else image.resize(size, spec.resample))
    grids = [(1, image.height // p, image.width // p) for image in fitted]
    shape = (sum(h * w for _, h, w in grids), 3, t, p, p)
    # On the CPU numpy allocates the 50 MB (at 1080p): it asks the kernel for huge pages,
    # which cuts the page faults of its first write about 20-fold.
    out = (torch.from_numpy(np.empty(shape, dtype=np.float32)) if device.type == "cpu"
           else torch.empty(shape, dtype=torch.float32, device=device))
    mean = torch.tensor(spec.image_mean, dtype=torch.float32, device=device).view(3, 1, 1)
    std = torch.tensor(spec.image_std, dtype=torch.float32, device=device).view(3, 1, 1)
    divisor = _exact_divisor(spec.rescale_factor)
    start = 0
    for image, (_, gh, gw) in zip(fitted, grids):
        pixels = torch.from_numpy(np.array(image)).to(device)  # (H, W, C) uint8
        # (gh/m, m, p, gw/m, m, p, C) -> (gh/m, gw/m, m, m, C, p, p): the reference's patch order.
        blocks = pixels.view(gh // m, m, p, gw // m, m, p, 3).permute(0, 3, 1, 4, 6, 2, 5)
        # Normalise in that layout, in the first temporal slot: the channel is then an
        # outer dimension over contiguous p*p runs, which vectorises (a size-3 inner one does not).
        first = out[start:start + gh * gw, :, 0]
        if divisor is not None:
            first.view(blocks.shape).copy_(blocks)
            first.div_(divisor)
        else:
            first.view(blocks.shape).copy_(blocks.to(torch.float64).mul_(spec.rescale_factor))
        first.sub_(mean).div_(std)
        for frame in range(1, t):  # a still image repeats its frame temporal_patch_size times
            out[start:start + gh * gw, :, frame].copy_(first)
        start += gh * gw
    return out.view(out.shape[0], -1), torch.tensor(grids, dtype=torch.long, device=device)


def _exact_divisor(factor: float) -> float | None:
    """A float32 divisor reproducing the reference rescale (``float32(uint8 * factor in
    float64)``) on all 256 values, or ``None``: then the rescale runs in float64 as there.

    For the usual 1/255 it exists, and one float32 division is cheaper than the round trip.
    """
    values = np.arange(256)
    expected = (values.astype(np.float64) * factor).astype(np.float32)
    divisor = np.float32(1 / factor)
    return float(divisor) if np.array_equal(values.astype(np.float32) / divisor, expected) else None


class FastInputs:
    """A processor's model inputs for a rendered prompt and its images, built fast.

    Same keys and values as ``processor(text=[text], images=images, return_tensors="pt")``.
    The text is tokenized with its single ``<|image_pad|>`` per image, and each is
    then repeated ``t*h*w / merge**2`` times: the tokenizer splits added tokens
    out before anything else, so this equals tokenizing the expanded text.
    """

    def __init__(self, processor: Any, spec: VisionSpec) -> None:
        self.tokenizer = processor.tokenizer
        self.spec = spec
        self.image_token_id = int(processor.image_token_id)
        self.video_token_id = int(processor.video_token_id)
        # transformers adds these (and the model's rope needs them) from 5.x on; earlier
        # processors do not return them and earlier models refuse them.
        self.token_types = bool(getattr(processor, "return_mm_token_type_ids", False))

    @classmethod
    def for_processor(cls, processor: Any) -> FastInputs | None:
        """The fast path for ``processor``, or ``None`` where it would not match the stock one."""
        spec = VisionSpec.of(processor.image_processor)
        return None if spec is None else cls(processor, spec)

    def __call__(self, text: str, images: Sequence[Image], *,
                 device: str | torch.device | None = None, min_pixels: int | None = None,
                 max_pixels: int | None = None) -> dict[str, torch.Tensor]:
        device = torch.device(device or "cpu")
        ids = torch.tensor(self.tokenizer([text])["input_ids"][0], dtype=torch.long)
        placeholders = ids == self.image_token_id
        found, videos = int(placeholders.sum()), int((ids == self.video_token_id).sum())
        if found != len(images) or videos:
            raise UsageError(
                f"the prompt holds {found} <|image_pad|> and {videos} <|video_pad|> tokens for "
                f"{len(images)} image(s): the task or history text contains a vision token"
            )
        inputs: dict[str, torch.Tensor] = {}
        if images:
            pixel_values, grid = pixel_inputs(images, self.spec, device=device,
                                              min_pixels=min_pixels, max_pixels=max_pixels)
            counts = torch.ones_like(ids)
            counts[placeholders] = grid.prod(dim=1).cpu() // self.spec.merge_size ** 2
            ids = ids.repeat_interleave(counts)
            inputs = {"pixel_values": pixel_values, "image_grid_thw": grid}
        ids = ids.unsqueeze(0)
        text_inputs = {"input_ids": ids, "attention_mask": torch.ones_like(ids)}
        if self.token_types:
            text_inputs["mm_token_type_ids"] = (ids == self.image_token_id).long()
        return {**{k: v.to(device) for k, v in text_inputs.items()}, **inputs}
