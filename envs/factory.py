"""Building an env by name, so callers need not import (or install) the other backends."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from importlib import import_module
from typing import Any

from qwen_gui_agent.envs.base import Env
from qwen_gui_agent.errors import UsageError

_BACKENDS: dict[str, tuple[str, str]] = {
    "desktop": ("qwen_gui_agent.envs.desktop.env", "DesktopEnv"),
    "browser": ("qwen_gui_agent.envs.browser.env", "BrowserEnv"),
    "android": ("qwen_gui_agent.envs.android.env", "AndroidEnv"),
}


def make_env(kind: str, **options: Any) -> Env:
    """Create the env named ``kind`` with backend-specific ``options``."""
    try:
        module_name, class_name = _BACKENDS[kind]
    except KeyError:
        raise UsageError(f"unknown env {kind!r}; choose one of {', '.join(_BACKENDS)}") from None
    return getattr(import_module(module_name), class_name)(**options)


@contextlib.contextmanager
def open_env(kind: str, *, virtual_display: tuple[int, int] | None = None,
             **options: Any) -> Iterator[Env]:
    """The env, closed on exit; ``virtual_display=(w, h)`` hosts a desktop on a private Xvfb."""
    with contextlib.ExitStack() as stack:
        if virtual_display is not None:
            if kind != "desktop":
                raise UsageError("a virtual display applies to the desktop env only")
            from qwen_gui_agent.envs.desktop.xvfb import VirtualDisplay

            screen = stack.enter_context(VirtualDisplay(*virtual_display))
            options = {**options, "display": screen.display}
        yield stack.enter_context(make_env(kind, **options))
