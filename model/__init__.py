"""Policies: turn a task, a screenshot and the history into the next action.

``QwenPolicy`` runs a Qwen2.5-VL, Qwen3-VL or UI-TARS-1.5 checkpoint in-process
(transformers), ``OpenAIPolicy`` asks an OpenAI-compatible server (vLLM,
SGLang), ``build_policy`` picks one from plain options, ``build_tiny_model``
writes a random-weight checkpoint of a family for tests. Exports load lazily:
importing this package does not import torch or transformers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qwen_gui_agent._lazy import lazy_getattr
from qwen_gui_agent.actions.decision import Decision, HistoryEntry
from qwen_gui_agent.model.policy import Policy

if TYPE_CHECKING:
    from qwen_gui_agent.model.endpoint import OpenAIPolicy
    from qwen_gui_agent.model.factory import build_policy
    from qwen_gui_agent.model.local import QwenPolicy
    from qwen_gui_agent.model.tiny import build_tiny_model

_LAZY = {
    "QwenPolicy": "qwen_gui_agent.model.local",
    "OpenAIPolicy": "qwen_gui_agent.model.endpoint",
    "build_policy": "qwen_gui_agent.model.factory",
    "build_tiny_model": "qwen_gui_agent.model.tiny",
}

__all__ = [
    "Decision", "HistoryEntry", "OpenAIPolicy", "Policy", "QwenPolicy", "build_policy",
    "build_tiny_model",
]


__getattr__ = lazy_getattr(__name__, _LAZY)
