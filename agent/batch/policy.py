"""How the env workers of a batch share one model.

- With an endpoint, each worker holds its own small HTTP client of the one
  server (vLLM / SGLang batch the concurrent requests: that is the scaling path).
- With a local checkpoint, the weights are loaded once per GPU (once on a CPU
  machine) in a :class:`ModelServer` Ray actor; each worker's Agent gets a
  :class:`RemotePolicy` whose ``decide`` is a call to that actor. Loading a
  7B model per worker would exhaust the GPU long before the workers were busy.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from qwen_gui_agent.actions.dialects import Dialect, get_dialect
from qwen_gui_agent.errors import ModelError, QwenAgentError

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import Decision, HistoryEntry
    from qwen_gui_agent.actions.frame import ImageBounds
    from qwen_gui_agent.actions.observation import Observation
    from qwen_gui_agent.model.policy import Policy

_SETTINGS = ("name", "model", "url", "history_images", "extensions")
"""The policy's plain settings a proxy mirrors (the Agent and the trajectory header read them)."""


@dataclass(frozen=True)
class PolicySpec:
    """What a worker needs to get its policy; small and picklable (it travels to every worker).

    ``server`` is the Ray actor handle of a :class:`ModelServer`; otherwise the
    worker builds a client of ``endpoint`` itself (``model`` already resolved
    by the driver, so workers do not each ask the server what it serves).
    """

    endpoint: str | None = None
    model: str | None = None
    family: str | None = None
    min_pixels: int | None = None
    max_pixels: int | None = None
    timeout: float | None = None
    """An endpoint request's total deadline in seconds."""
    server: Any = None

    def build(self) -> Policy:
        if self.server is not None:
            return RemotePolicy(self.server)
        from qwen_gui_agent.model.factory import build_policy

        return build_policy(model=self.model, endpoint=self.endpoint, family=self.family,
                            min_pixels=self.min_pixels, max_pixels=self.max_pixels, timeout=self.timeout)


class ModelServer:
    """A local model as a Ray actor: loaded once, it decides for every worker that asks.

    Calls are served one at a time (``generate`` on one model is not reentrant);
    for concurrent decoding serve the model with vLLM or SGLang and use an endpoint.
    """

    def __init__(self, model: str | None, family: str | None, min_pixels: int | None,
                 max_pixels: int | None) -> None:
        from qwen_gui_agent.model.factory import build_policy

        self._policy = build_policy(model=model, family=family, min_pixels=min_pixels,
                                    max_pixels=max_pixels)

    def settings(self) -> dict[str, Any]:
        """The policy's plain settings (a local policy's ``model`` is the torch module: left out),
        its family and image bounds (its syntax and coordinate frame, which trajectories record)."""
        found = {name: getattr(self._policy, name, None) for name in _SETTINGS}
        settings = {name: value for name, value in found.items() if _plain(value)}
        settings["family"] = self._policy.dialect.name
        settings["image_bounds"] = self._policy.image_bounds
        return settings

    def where(self) -> str:
        """``pid N on HOST (device)``, for the batch summary."""
        device = getattr(self._policy, "device", None)
        return f"pid {os.getpid()} on {socket.gethostname()}" + (f" ({device})" if device else "")

    def decide(self, task: str, observation: Observation,
               history: Sequence[HistoryEntry]) -> Decision:
        return self._policy.decide(task, observation, history)


def _plain(value: Any) -> bool:
    if isinstance(value, (tuple, list)):
        return all(isinstance(item, str) for item in value)
    return isinstance(value, (str, int, float, bool))


class RemotePolicy:
    """The policy a worker's Agent sees when the model lives in a :class:`ModelServer` actor.

    It mirrors the model's settings (family, image bounds, history images, name) so the
    Agent and the trajectory header see what they would see in-process (it is a
    :class:`~qwen_gui_agent.model.policy.ModelPolicy`), and
    re-raises the model's own errors (``ParseError`` above all, which the loop
    feeds back) as they were raised.
    """

    def __init__(self, server: Any) -> None:
        import ray

        self._server = server
        settings = ray.get(server.settings.remote())
        self.name: str | None = settings.get("name")
        self.model: str | None = settings.get("model")
        self.url: str | None = settings.get("url")
        self.dialect: Dialect = get_dialect(settings["family"])
        self.image_bounds: ImageBounds = settings["image_bounds"]
        self.history_images: int = settings.get("history_images", 0)
        self.extensions: tuple[str, ...] = tuple(settings.get("extensions", ()))

    def decide(self, task: str, observation: Observation,
               history: Sequence[HistoryEntry]) -> Decision:
        import ray
        from ray.exceptions import RayActorError, RayTaskError

        try:
            return ray.get(self._server.decide.remote(task, observation, tuple(history)))
        except RayTaskError as exc:
            if isinstance(exc.cause, QwenAgentError):
                raise exc.cause from None
            raise ModelError(f"the model actor failed: {exc.cause!r}") from None
        except RayActorError as exc:
            raise ModelError(f"the model actor is gone and could not be restarted: {exc}") from None
