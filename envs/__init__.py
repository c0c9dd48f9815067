"""Envs: where observations come from and actions go.

``make_env("desktop" | "browser" | "android", **options)`` builds one and
``open_env`` does the same as a context manager (with a private Xvfb for a
headless desktop). Each backend lives in its own subpackage and imports its
heavy dependency (mss/pyautogui, playwright, adbutils) only when constructed.
"""

from __future__ import annotations

from qwen_gui_agent.actions.observation import EnvKind, Observation, Outcome
from qwen_gui_agent.envs.base import BaseEnv, Env, EnvWrapper
from qwen_gui_agent.envs.factory import make_env, open_env
from qwen_gui_agent.errors import ActionError, EnvError, OutOfScreen, UnsupportedAction

__all__ = [
    "ActionError", "BaseEnv", "Env", "EnvError", "EnvKind", "EnvWrapper", "Observation",
    "OutOfScreen", "Outcome", "UnsupportedAction", "make_env", "open_env",
]
