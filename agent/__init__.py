"""The agent: the perceive-reason-act loop, its safety guard, secrets and RPA helpers.

Names resolve lazily so ``import qwen_gui_agent.agent`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qwen_gui_agent._lazy import lazy_getattr

_LAZY_EXPORTS = {
    "Agent": "qwen_gui_agent.agent.loop",
    "RunResult": "qwen_gui_agent.agent.loop",
    "StepResult": "qwen_gui_agent.agent.loop",
    "Guard": "qwen_gui_agent.agent.guard",
    "Rules": "qwen_gui_agent.agent.guard",
    "Verdict": "qwen_gui_agent.agent.guard",
    "Secrets": "qwen_gui_agent.agent.secrets",
    "SecretError": "qwen_gui_agent.agent.secrets",
    "StuckDetector": "qwen_gui_agent.agent.stuck",
    "GroundingError": "qwen_gui_agent.agent.grounding",
    "locate": "qwen_gui_agent.agent.grounding",
    "click": "qwen_gui_agent.agent.grounding",
    "type_into": "qwen_gui_agent.agent.grounding",
}

__all__ = list(_LAZY_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from qwen_gui_agent.agent.grounding import click, locate, type_into
    from qwen_gui_agent.agent.guard import Guard, Rules, Verdict
    from qwen_gui_agent.agent.loop import Agent, RunResult, StepResult
    from qwen_gui_agent.agent.secrets import Secrets
    from qwen_gui_agent.agent.stuck import StuckDetector
    from qwen_gui_agent.errors import GroundingError, SecretError


__getattr__ = lazy_getattr(__name__, _LAZY_EXPORTS)
