"""Envs: where observations come from and actions go.

``make_env("desktop" | "browser" | "android", **options)`` builds one; each
backend imports its heavy dependency (pyautogui/mss, playwright, adbutils)
only when constructed.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from qwen_gui_agent.envs.base import Env, EnvKind, Observation, Outcome
from qwen_gui_agent.envs.errors import ActionError, EnvError, OutOfScreen, UnsupportedAction

_BACKENDS: dict[str, tuple[str, str]] = {
    "desktop": ("qwen_gui_agent.envs.desktop", "DesktopEnv"),
    "browser": ("qwen_gui_agent.envs.browser", "BrowserEnv"),
    "android": ("qwen_gui_agent.envs.android", "AndroidEnv"),
}

__all__ = [
    "ActionError", "Env", "EnvError", "EnvKind", "Observation", "OutOfScreen",
    "Outcome", "UnsupportedAction", "make_env",
]


def make_env(kind: str, **options: Any) -> Env:
    """Create the env named ``kind`` with backend-specific ``options``."""
    try:
        module_name, class_name = _BACKENDS[kind]
    except KeyError:
        raise ValueError(f"unknown env {kind!r}; choose one of {', '.join(_BACKENDS)}") from None
    return getattr(import_module(module_name), class_name)(**options)
