"""What every env provides: observations in, actions out, in screenshot pixels."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Literal, Protocol, runtime_checkable

if TYPE_CHECKING:
    from PIL.Image import Image

    from qwen_gui_agent.actions.models import Action

EnvKind = Literal["desktop", "browser", "android"]


@dataclass
class Observation:
    """One screenshot and what the env knows about where it is.

    ``image`` is in screenshot pixels; every coordinate of every action refers
    to it. ``width`` and ``height`` equal ``image.size``.
    """

    image: Image
    env: EnvKind
    timestamp: float = field(default_factory=time.time)
    app: str | None = None
    """Foreground app / activity (Android), window title or program (desktop)."""
    url: str | None = None
    title: str | None = None
    monitor: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def width(self) -> int:
        return self.image.width

    @property
    def height(self) -> int:
        return self.image.height

    def metadata(self) -> dict[str, Any]:
        """Everything but the pixels, JSON-ready (for trajectories)."""
        return {
            "env": self.env, "timestamp": self.timestamp, "width": self.width,
            "height": self.height, "app": self.app, "url": self.url,
            "title": self.title, "monitor": self.monitor, "extra": self.extra,
        }


@dataclass
class Outcome:
    """The result of an action that was performed (failures raise instead)."""

    duration_s: float
    info: dict[str, Any] = field(default_factory=dict)
    """Env-specific facts worth recording, e.g. a new tab's URL or a download's path."""


@runtime_checkable
class Env(Protocol):
    """The protocol every env implements. Use as a context manager."""

    kind: ClassVar[EnvKind]
    capabilities: frozenset[str]
    """The ``type`` names of the actions this env performs."""
    options: dict[str, Any]
    """The JSON-ready options that recreate this env (kept in trajectory headers, used by replay)."""

    def observe(self, settle: bool = False) -> Observation:
        """Take a screenshot. With ``settle``, first wait for the screen to stop changing."""
        ...

    def execute(self, action: Action) -> Outcome:
        """Perform ``action`` (screenshot pixels), or raise ActionError / EnvError."""
        ...

    def close(self) -> None:
        """Release everything; leave no process behind. Idempotent."""
        ...

    def __enter__(self) -> Env: ...

    def __exit__(self, *exc: object) -> None: ...
