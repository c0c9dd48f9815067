"""An image-only Qwen2.5-VL processor that loads with or without torchvision.

The stock ``Qwen2_5_VLProcessor`` also builds a video processor, which needs
torchvision; without it loading fails, and ``AutoProcessor`` silently hands
back a bare tokenizer instead. A GUI agent only ever sends images, so this
subclass declares just ``image_processor`` and ``tokenizer``: it tokenizes,
expands ``<|image_pad|>`` and renders the chat template exactly like the stock
processor does for images.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from transformers import AutoTokenizer, Qwen2_5_VLProcessor
from transformers.utils import is_torchvision_available

from qwen_gui_agent.actions.frame import ImageBounds
from qwen_gui_agent.errors import ModelNotFound


class ImageOnlyQwenProcessor(Qwen2_5_VLProcessor):
    """``Qwen2_5_VLProcessor`` minus the video processor (see the module docstring)."""

    def __init__(self, image_processor: Any = None, tokenizer: Any = None,
                 chat_template: str | None = None, **kwargs: Any) -> None:
        super().__init__(image_processor, tokenizer, None, chat_template=chat_template, **kwargs)


def image_processor_class() -> type:
    """The torchvision-backed image processor when torchvision is there, else the PIL one."""
    if is_torchvision_available():
        from transformers.models.qwen2_vl.image_processing_qwen2_vl import (
            Qwen2VLImageProcessor,
        )
        return Qwen2VLImageProcessor
    from transformers.models.qwen2_vl.image_processing_pil_qwen2_vl import (
        Qwen2VLImageProcessorPil,
    )
    return Qwen2VLImageProcessorPil


def build_processor(tokenizer: Any, *, chat_template: str,
                    bounds: ImageBounds = ImageBounds()) -> ImageOnlyQwenProcessor:
    """A processor around ``tokenizer`` with Qwen2.5-VL's image settings."""
    image_processor = image_processor_class()(
        min_pixels=bounds.min_pixels, max_pixels=bounds.max_pixels,
        patch_size=14, temporal_patch_size=2, merge_size=2,
    )
    return ImageOnlyQwenProcessor(image_processor, tokenizer, chat_template=chat_template)


def load_processor(source: str | Path, *, min_pixels: int | None = None,
                   max_pixels: int | None = None, **hub_kwargs: Any) -> ImageOnlyQwenProcessor:
    """Load the image processor, tokenizer and chat template of a checkpoint (dir or hub id).

    ``min_pixels`` / ``max_pixels`` override the checkpoint's; ``hub_kwargs``
    (``local_files_only``, ``revision``, ``token``, ``cache_dir``) go to every load.
    """
    source = str(source)
    overrides = {k: v for k, v in (("min_pixels", min_pixels), ("max_pixels", max_pixels)) if v}
    image_processor = image_processor_class().from_pretrained(source, **overrides, **hub_kwargs)
    tokenizer = AutoTokenizer.from_pretrained(source, **hub_kwargs)
    template = _load_chat_template(source, hub_kwargs)
    return ImageOnlyQwenProcessor(image_processor, tokenizer, chat_template=template)


def _load_chat_template(source: str, hub_kwargs: dict[str, Any]) -> str:
    """The processor's chat template: ``chat_template.jinja`` (new) or ``.json`` (older saves)."""
    import json

    from transformers.utils import cached_file

    for name in ("chat_template.jinja", "chat_template.json"):
        path = cached_file(source, name, _raise_exceptions_for_missing_entries=False, **hub_kwargs)
        if path:
            text = Path(path).read_text(encoding="utf-8")
            return text if name.endswith(".jinja") else json.loads(text)["chat_template"]
    raise ModelNotFound(
        f"{source} has no chat_template.jinja or chat_template.json: not a Qwen2.5-VL checkpoint?"
    )
