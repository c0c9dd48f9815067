"""qwen-gui-agent: a perceive-reason-act runtime that lets Qwen2.5-VL drive GUIs.

Importing this package is cheap: torch, transformers and the env backends are
only imported when something that needs them is used. The names below are
resolved lazily on first access.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qwen_gui_agent._lazy import lazy_getattr

__version__ = "0.1.0"

_LAZY_EXPORTS = {
    "Agent": "qwen_gui_agent.agent.loop",
    "RunResult": "qwen_gui_agent.agent.loop",
    "make_env": "qwen_gui_agent.envs",
    "load_trajectory": "qwen_gui_agent.trajectories",
}

__all__ = ["__version__", *_LAZY_EXPORTS]

if TYPE_CHECKING:  # pragma: no cover
    from qwen_gui_agent.agent.loop import Agent, RunResult
    from qwen_gui_agent.envs import make_env
    from qwen_gui_agent.trajectories import load_trajectory


__getattr__ = lazy_getattr(__name__, _LAZY_EXPORTS)
