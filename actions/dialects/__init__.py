"""Model families: a syntax + a coordinate frame + a prompt, all ending in unified actions.

- ``qwen2.5-vl``: ``<tool_call>`` JSON in pixels of the image resized with factor 28;
  ``model_type`` ``qwen2_5_vl``. GUI-Owl writes this format too (inside ``<thinking>`` /
  ``<conclusion>``, which the parser reads) and uses this dialect.
- ``qwen3-vl``: the same JSON on a relative 0..999 grid; its own image is resized
  with factor 32; ``model_type`` ``qwen3_vl`` or ``qwen3_vl_moe``.
- ``ui-tars`` (UI-TARS-1.5): ``Action: click(start_box='(x,y)')`` text in pixels of
  the image resized with factor 28; a ``qwen2_5_vl`` checkpoint told apart by its name.

Each module's docstring names the official sources it follows.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from qwen_gui_agent.actions.dialects.base import Dialect, FamilyError, looks_like
from qwen_gui_agent.actions.dialects.qwen3 import Qwen3Dialect
from qwen_gui_agent.actions.dialects.qwen25 import Qwen25Dialect
from qwen_gui_agent.actions.dialects.uitars import UiTarsDialect

_DIALECTS: dict[str, Dialect] = {
    dialect.name: dialect for dialect in (Qwen25Dialect(), Qwen3Dialect(), UiTarsDialect())
}
FAMILIES: tuple[str, ...] = tuple(_DIALECTS)
DEFAULT_FAMILY = "qwen2.5-vl"

_MODEL_TYPES = {"qwen2_5_vl": "qwen2.5-vl", "qwen3_vl": "qwen3-vl", "qwen3_vl_moe": "qwen3-vl"}
_UI_TARS_NAME = re.compile(r"ui[-_ ]?tars", re.IGNORECASE)


def get_dialect(family: str) -> Dialect:
    """The dialect of a family name (``qwen2.5-vl``, ``qwen3-vl``, ``ui-tars``; any case)."""
    try:
        return _DIALECTS[family.strip().lower()]
    except (KeyError, AttributeError):
        raise FamilyError(
            f"unknown model family {family!r}; expected one of: {', '.join(FAMILIES)}"
        ) from None


def detect_family(config: Mapping[str, Any], name: str = "") -> str:
    """The family of a local checkpoint from its ``config.json`` and its path or hub id.

    ``model_type`` decides, except that UI-TARS-1.5 is a ``qwen2_5_vl``
    checkpoint told apart only by its name (``name`` or the config's
    ``_name_or_path`` containing "UI-TARS"); a renamed one needs the family given.
    """
    model_type = config.get("model_type")
    names = f"{name} {config.get('_name_or_path') or ''}"
    if model_type == "qwen2_5_vl" and _UI_TARS_NAME.search(names):
        return "ui-tars"
    if model_type in _MODEL_TYPES:
        return _MODEL_TYPES[str(model_type)]
    if model_type == "qwen2_vl" and _UI_TARS_NAME.search(names):
        raise FamilyError(
            "this is a UI-TARS 1.0 checkpoint (qwen2_vl), which answers on a 0-1000 grid; "
            "only UI-TARS-1.5 (qwen2_5_vl) is supported"
        )
    raise FamilyError(
        f"cannot tell the model family of a {model_type!r} checkpoint; supported model types: "
        f"{', '.join(_MODEL_TYPES)} (Qwen2.5-VL checkpoints include UI-TARS-1.5 and GUI-Owl)"
    )


__all__ = [
    "DEFAULT_FAMILY", "FAMILIES", "Dialect", "FamilyError", "detect_family", "get_dialect",
    "looks_like",
]
