"""A policy from plain options: a local checkpoint, the offline tiny model, or a server.

The CLI, the examples and the batch runner's workers all build their policy
here, so they pick the same defaults as ``qwen-agent run``.
"""

from __future__ import annotations

import importlib.util
import os
from typing import TYPE_CHECKING

from qwen_gui_agent.errors import EndpointError, UsageError
from qwen_gui_agent.model.defaults import DEFAULT_MODEL, SMALL_MODEL, TINY_MODEL

if TYPE_CHECKING:
    from qwen_gui_agent.model.policy import Policy


def default_model() -> str:
    """The 7B model when CUDA is available, the 3B one otherwise."""
    if importlib.util.find_spec("torch") is None:
        return SMALL_MODEL
    import torch

    return DEFAULT_MODEL if torch.cuda.is_available() else SMALL_MODEL


def build_policy(
    *,
    model: str | None = None,
    endpoint: str | None = None,
    family: str | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
    timeout: float | None = None,
) -> Policy:
    """A local checkpoint, or a client of an OpenAI-compatible server when ``endpoint`` is given.

    Without ``model``, a server is asked what it serves (``/v1/models``) and
    the local default follows :func:`default_model`. ``family`` is the model
    family (``qwen2.5-vl`` for a server unless given; a local checkpoint says
    its own, UI-TARS-1.5 by its name; ``--model tiny`` builds the family's
    tiny checkpoint). ``timeout`` is a server
    request's total deadline in seconds. ``$OPENAI_API_KEY`` is the server's
    key (vLLM and SGLang started with ``--api-key`` want one).
    """
    pixels = {k: v for k, v in (("min_pixels", min_pixels), ("max_pixels", max_pixels)) if v}
    if family is not None:
        pixels["family"] = family
    if endpoint:
        from qwen_gui_agent.model.endpoint import OpenAIPolicy, served_models

        api_key = os.environ.get("OPENAI_API_KEY")
        if model is None:
            try:
                served = served_models(endpoint, api_key=api_key)
            except EndpointError as exc:
                raise UsageError(f"could not ask {endpoint} which model it serves ({exc}); "
                                 "pass --model NAME") from exc
            if not served:
                raise UsageError(f"{endpoint} serves no model")
            model = served[0]
        deadline = {"timeout": timeout} if timeout else {}
        return OpenAIPolicy(endpoint, model, api_key=api_key, **pixels, **deadline)
    from qwen_gui_agent.model.local import QwenPolicy

    if model == TINY_MODEL:
        from qwen_gui_agent.actions.dialects import DEFAULT_FAMILY
        from qwen_gui_agent.model.tiny import cached_tiny_model

        return QwenPolicy(cached_tiny_model(family or DEFAULT_FAMILY), max_new_tokens=48, **pixels)
    return QwenPolicy(model or default_model(), **pixels)
