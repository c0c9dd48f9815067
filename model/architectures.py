"""The checkpoint architectures ``QwenPolicy`` loads, told apart by ``config.json``'s ``model_type``.

Why a table: a Qwen2.5-VL and a Qwen3-VL checkpoint need different model
classes, processors and image settings (patch 14 vs 16), and the model type is
known from a small JSON file before gigabytes of weights load. Reading it first
means an unsupported checkpoint is refused with a clear :class:`FamilyError`
instead of a shape mismatch deep inside transformers. The family a checkpoint
*speaks* is decided elsewhere (:func:`~qwen_gui_agent.actions.dialects.detect_family`):
UI-TARS-1.5 is a ``qwen2_5_vl`` architecture with another dialect.

Nothing here imports torch or transformers at module import.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from qwen_gui_agent.actions.dialects import FamilyError
from qwen_gui_agent.errors import ModelNotFound


@dataclass(frozen=True)
class Architecture:
    """How one ``model_type`` loads: its transformers model class and its vision settings."""

    model_type: str
    model_class: str
    """The transformers class holding vision tower and language model."""
    patch_size: int
    """The vision tower's patch side; each image side is a multiple of ``patch_size * 2``."""
    image_mean: tuple[float, float, float]
    image_std: tuple[float, float, float]
    """Normalisation as the published checkpoints' ``preprocessor_config.json`` sets it."""
    qwen3: bool
    """Whether the processor is Qwen3-VL's (its own class; the image processor steps are the same)."""

    def load_class(self) -> type:
        """The transformers model class (imports transformers)."""
        import transformers

        return getattr(transformers, self.model_class)


CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)
HALF = (0.5, 0.5, 0.5)

ARCHITECTURES: dict[str, Architecture] = {
    arch.model_type: arch for arch in (
        Architecture("qwen2_5_vl", "Qwen2_5_VLForConditionalGeneration", 14, CLIP_MEAN, CLIP_STD,
                     qwen3=False),
        Architecture("qwen3_vl", "Qwen3VLForConditionalGeneration", 16, HALF, HALF, qwen3=True),
        Architecture("qwen3_vl_moe", "Qwen3VLMoeForConditionalGeneration", 16, HALF, HALF,
                     qwen3=True),
    )
}


def architecture(model_type: object) -> Architecture:
    """The architecture of a ``model_type``; :class:`FamilyError` for one this runtime cannot load."""
    try:
        return ARCHITECTURES[str(model_type)]
    except KeyError:
        raise FamilyError(
            f"cannot load a {model_type!r} checkpoint locally; supported model types: "
            f"{', '.join(ARCHITECTURES)} (UI-TARS-1.5 and GUI-Owl are qwen2_5_vl checkpoints)"
        ) from None


def read_config(source: str | Path, **hub_kwargs: Any) -> dict[str, Any]:
    """A checkpoint's ``config.json`` (folder or hub id) as a dict, without loading weights."""
    from transformers.utils import cached_file

    path = cached_file(str(source), "config.json", _raise_exceptions_for_missing_entries=False,
                       **hub_kwargs)
    if not path:
        raise ModelNotFound(f"{source} has no config.json")
    config: dict[str, Any] = json.loads(Path(path).read_text(encoding="utf-8"))
    return config
