"""What every layer says about the screen: an observation in, an outcome back.

These sit at the bottom beside the actions because envs produce them, policies
read them, the loop passes them on and trajectories record them.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, get_args

if TYPE_CHECKING:
    from PIL.Image import Image

EnvKind = Literal["desktop", "browser", "android"]
ENV_KINDS: tuple[str, ...] = get_args(EnvKind)


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
        """Everything but the pixels, JSON-ready (what a trajectory records of it)."""
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

    @classmethod
    def merged(cls, outcomes: list[Outcome]) -> Outcome | None:
        """One outcome for a step: the single one, or the sum with each action's info."""
        if not outcomes:
            return None
        if len(outcomes) == 1:
            return outcomes[0]
        return cls(duration_s=sum(o.duration_s for o in outcomes),
                   info={"actions": [o.info for o in outcomes]})
