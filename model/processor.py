"""Image-only Qwen2.5-VL and Qwen3-VL processors that load with or without torchvision.

The stock ``Qwen2_5_VLProcessor`` / ``Qwen3VLProcessor`` also build a video
processor, which needs torchvision; without it loading fails, and
``AutoProcessor`` silently hands back a bare tokenizer instead. A GUI agent only
ever sends images, so these subclasses declare just ``image_processor`` and
``tokenizer``: they tokenize, expand ``<|image_pad|>`` and render the chat
template exactly like the stock processors do for images. Both families share
the Qwen2-VL image processor; Qwen3-VL configures it with patch 16 and mean/std
0.5 (factor 32), which its checkpoint's ``preprocessor_config.json`` states.
The class is picked by the checkpoint's ``model_type``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Union

from transformers import AutoTokenizer, Qwen2_5_VLProcessor, Qwen3VLProcessor
from transformers.utils import is_torchvision_available

from qwen_gui_agent.actions.frame import ImageBounds
from qwen_gui_agent.errors import ModelNotFound
from qwen_gui_agent.model.architectures import Architecture, architecture, read_config


class _ImageOnly:
    """The stock ``__init__`` minus the video processor: transformers reads a processor's
    parts from its ``__init__`` signature, so this one has none for video."""

    def __init__(self, image_processor: Any = None, tokenizer: Any = None,
                 chat_template: str | None = None, **kwargs: Any) -> None:
        super().__init__(image_processor, tokenizer, None,  # type: ignore[call-arg]
                         chat_template=chat_template, **kwargs)


class ImageOnlyQwenProcessor(_ImageOnly, Qwen2_5_VLProcessor):
    """``Qwen2_5_VLProcessor`` minus the video processor (see the module docstring)."""


class ImageOnlyQwen3Processor(_ImageOnly, Qwen3VLProcessor):
    """``Qwen3VLProcessor`` minus the video processor (see the module docstring)."""


ImageOnlyProcessor = Union[ImageOnlyQwenProcessor, ImageOnlyQwen3Processor]


def processor_class(arch: Architecture) -> type[ImageOnlyQwenProcessor] | type[ImageOnlyQwen3Processor]:
    """The image-only processor class for a checkpoint architecture."""
    return ImageOnlyQwen3Processor if arch.qwen3 else ImageOnlyQwenProcessor


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


def build_processor(tokenizer: Any, *, chat_template: str, bounds: ImageBounds = ImageBounds(),
                    model_type: str = "qwen2_5_vl") -> ImageOnlyProcessor:
    """A processor around ``tokenizer`` with the image settings of ``model_type``'s checkpoints."""
    arch = architecture(model_type)
    image_processor = image_processor_class()(
        min_pixels=bounds.min_pixels, max_pixels=bounds.max_pixels,
        patch_size=arch.patch_size, temporal_patch_size=2, merge_size=2,
        image_mean=list(arch.image_mean), image_std=list(arch.image_std),
    )
    return processor_class(arch)(image_processor, tokenizer, chat_template=chat_template)


def load_processor(source: str | Path, *, min_pixels: int | None = None,
                   max_pixels: int | None = None, **hub_kwargs: Any) -> ImageOnlyProcessor:
    """Load the image processor, tokenizer and chat template of a checkpoint (dir or hub id).

    The processor class follows the checkpoint's ``model_type`` (``FamilyError`` for
    one this runtime cannot load). ``min_pixels`` / ``max_pixels`` override the
    checkpoint's; ``hub_kwargs`` (``local_files_only``, ``revision``, ``token``,
    ``cache_dir``) go to every load.
    """
    source = str(source)
    arch = architecture(read_config(source, **hub_kwargs).get("model_type"))
    overrides = {k: v for k, v in (("min_pixels", min_pixels), ("max_pixels", max_pixels)) if v}
    image_processor = image_processor_class().from_pretrained(source, **overrides, **hub_kwargs)
    tokenizer = AutoTokenizer.from_pretrained(source, **hub_kwargs)
    template = _load_chat_template(source, hub_kwargs)
    return processor_class(arch)(image_processor, tokenizer, chat_template=template)


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
        f"{source} has no chat_template.jinja or chat_template.json: not a Qwen-VL checkpoint?"
    )
