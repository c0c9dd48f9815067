"""Build the env and the policy a command line asks for, so the CLI stays a thin layer.

Scripts can use these too: ``open_env("browser", url=...)`` and
``build_policy(model=..., endpoint=...)`` pick the same defaults as ``qwen-agent run``.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import urllib.request
from typing import TYPE_CHECKING, Any, Iterator

from qwen_gui_agent.model.defaults import DEFAULT_MODEL, SMALL_MODEL, TINY_MODEL

if TYPE_CHECKING:
    from qwen_gui_agent.actions.models import Action
    from qwen_gui_agent.agent.secrets import Secrets
    from qwen_gui_agent.envs.base import Env, Outcome
    from qwen_gui_agent.model.policy import Policy



def default_model() -> str:
    """The 7B model when CUDA is available, the 3B one otherwise."""
    if importlib.util.find_spec("torch") is None:
        return SMALL_MODEL
    import torch

    return DEFAULT_MODEL if torch.cuda.is_available() else SMALL_MODEL


def models_url(endpoint: str) -> str:
    """The ``/v1/models`` route of an OpenAI-compatible server, given its base URL."""
    root = endpoint.rstrip("/")
    return (root if root.endswith("/v1") else root + "/v1") + "/models"


def served_models(endpoint: str, timeout: float = 5.0) -> list[str]:
    """The model names an OpenAI-compatible server serves (raises ``OSError`` when unreachable)."""
    request = urllib.request.Request(models_url(endpoint), headers=_auth_headers())
    with urllib.request.urlopen(request, timeout=timeout) as response:
        try:
            return [str(m["id"]) for m in json.load(response).get("data", [])]
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise OSError(f"{models_url(endpoint)} did not answer with a model list: {exc}") from exc


def _auth_headers() -> dict[str, str]:
    """vLLM / SGLang started with ``--api-key`` want it; the OpenAI convention names the variable."""
    key = os.environ.get("OPENAI_API_KEY")
    return {"Authorization": f"Bearer {key}"} if key else {}


def env_options(
    kind: str,
    *,
    url: str | None = None,
    headed: bool = False,
    viewport: tuple[int, int] | None = None,
    serial: str | None = None,
    adb_port: int | None = None,
    display: str | None = None,
) -> dict[str, Any]:
    """The backend options of ``kind`` from the CLI's flags; flags of other envs are an error."""
    given = {"url": url, "headed": headed or None, "viewport": viewport, "serial": serial,
             "adb-port": adb_port, "display": display}
    allowed = {"browser": {"url", "headed", "viewport"}, "android": {"serial", "adb-port"},
               "desktop": {"display"}}[kind]
    stray = sorted(name for name, value in given.items() if value is not None and name not in allowed)
    if stray:
        raise ValueError(
            f"--{', --'.join(stray)} {'does' if len(stray) == 1 else 'do'} not apply to the {kind} env"
        )
    if kind == "browser":
        options: dict[str, Any] = {"headless": not headed}
        if url:
            options["url"] = url
        if viewport:
            options["viewport"] = viewport
        return options
    if kind == "android":
        return {k: v for k, v in (("serial", serial), ("adb_port", adb_port)) if v}
    return {"display": display} if display else {}


@contextlib.contextmanager
def open_env(
    kind: str,
    *,
    virtual_display: tuple[int, int] | None = None,
    **options: Any,
) -> Iterator[Env]:
    """The env, closed on exit; with ``virtual_display=(w, h)`` a private Xvfb hosts the desktop."""
    from qwen_gui_agent.envs import make_env

    with contextlib.ExitStack() as stack:
        if virtual_display is not None:
            if kind != "desktop":
                raise ValueError("--virtual-display applies to the desktop env only")
            from qwen_gui_agent.envs.xvfb import VirtualDisplay

            screen = stack.enter_context(VirtualDisplay(*virtual_display))
            options = {**options, "display": screen.display}
        env = stack.enter_context(make_env(kind, **options))
        yield env


def build_policy(
    *,
    model: str | None = None,
    endpoint: str | None = None,
    min_pixels: int | None = None,
    max_pixels: int | None = None,
) -> Policy:
    """A local Qwen2.5-VL, or a client of an OpenAI-compatible server when ``endpoint`` is given.

    Without ``model``, a server is asked what it serves (``/v1/models``) and
    the local default follows :func:`default_model`.
    """
    pixels = {k: v for k, v in (("min_pixels", min_pixels), ("max_pixels", max_pixels)) if v}
    if endpoint:
        from qwen_gui_agent.model.endpoint import OpenAIPolicy

        if model is None:
            try:
                served = served_models(endpoint)
            except OSError as exc:
                raise ValueError(f"could not ask {endpoint} which model it serves ({exc}); "
                                 "pass --model NAME") from exc
            if not served:
                raise ValueError(f"{endpoint} serves no model")
            model = served[0]
        return OpenAIPolicy(endpoint, model, api_key=os.environ.get("OPENAI_API_KEY"), **pixels)
    from qwen_gui_agent.model.local import QwenPolicy

    if model == TINY_MODEL:
        from qwen_gui_agent.model.tiny import cached_tiny_model

        return QwenPolicy(cached_tiny_model(), max_new_tokens=48, **pixels)
    return QwenPolicy(model or default_model(), **pixels)


class SecretTypingEnv:
    """An env whose typed ``{NAME}`` placeholders become secret values, e.g. for a replay.

    A recorded run holds only placeholders; replaying it through this wrapper
    types the real values again. Everything else is the wrapped env's.
    """

    def __init__(self, env: Env, secrets: Secrets) -> None:
        self._env = env
        self._secrets = secrets

    def execute(self, action: Action) -> Outcome:
        return self._env.execute(self._secrets.expand_action(action))

    def __getattr__(self, name: str) -> Any:
        return getattr(self._env, name)
