"""Typed errors of the model backends; each message says what to do about it.

Output that cannot be turned into actions is :class:`ParseError` (from
``qwen_gui_agent.actions``, re-exported here): the loop feeds it back to the model.
"""

from __future__ import annotations

from qwen_gui_agent.actions.errors import ParseError


class ModelError(RuntimeError):
    """A model backend cannot produce a decision (as opposed to a bad answer)."""


class ModelNotFound(ModelError):
    """Weights are not at the given path, not in the cache, or the hub is unreachable."""


class ModelOutOfMemory(ModelError):
    """The accelerator ran out of memory; the message suggests a smaller ``max_pixels``."""


class EndpointError(ModelError):
    """The chat-completions server refused the request or answered something unusable.

    ``status`` is the HTTP status when there was one; ``body`` the server's answer.
    """

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.body = body


class EndpointTimeout(EndpointError):
    """The server did not answer within ``timeout`` seconds (after the retries)."""


class EndpointUnavailable(EndpointError):
    """The server could not be reached, or kept failing with 5xx, after the retries."""


__all__ = [
    "EndpointError", "EndpointTimeout", "EndpointUnavailable", "ModelError",
    "ModelNotFound", "ModelOutOfMemory", "ParseError",
]
