"""Behaviour shared by every backend: capability and bounds checks, settling, timing.

A backend subclasses :class:`BaseEnv` and implements ``_capture``,
``_screen_size``, ``_perform`` and ``_close``; the public ``observe`` /
``execute`` / ``close`` contract then holds for all of them alike.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import TYPE_CHECKING, Any, ClassVar

from qwen_gui_agent.envs.base import EnvKind, Observation, Outcome
from qwen_gui_agent.envs.errors import EnvError, OutOfScreen, UnsupportedAction

if TYPE_CHECKING:
    from PIL.Image import Image

    from qwen_gui_agent.actions.models import Action


class BaseEnv(ABC):
    """Template for envs. Subclasses set ``kind`` and ``capabilities``."""

    kind: ClassVar[EnvKind]
    capabilities: frozenset[str] = frozenset()

    settle_timeout: float = 3.0
    """Longest ``observe(settle=True)`` waits for the screen to stop changing, in seconds."""
    settle_interval: float = 0.15
    settle_tolerance: float = 0.002
    """Fraction of (downsampled) pixels allowed to differ between 'stable' frames,
    so a blinking caret does not keep the screen 'moving' forever."""

    _closed: bool = False

    # -- what a backend implements -------------------------------------------------
    @abstractmethod
    def _capture(self) -> Observation:
        """One screenshot with its metadata, no waiting."""

    @abstractmethod
    def _screen_size(self) -> tuple[int, int]:
        """``(width, height)`` of a screenshot right now, in screenshot pixels."""

    @abstractmethod
    def _perform(self, action: Action) -> dict[str, Any] | None:
        """Do ``action``, already checked for capability and bounds; return Outcome info."""

    @abstractmethod
    def _close(self) -> None:
        """Release the backend's resources."""

    # -- the public contract -------------------------------------------------------
    def observe(self, settle: bool = False) -> Observation:
        self._ensure_open()
        observation = self._capture()
        if not settle:
            return observation
        deadline = time.monotonic() + self.settle_timeout
        while time.monotonic() < deadline:
            time.sleep(self.settle_interval)
            following = self._capture()
            if screens_match(observation.image, following.image, self.settle_tolerance):
                following.extra["settled"] = True
                return following
            observation = following
        observation.extra["settled"] = False
        return observation

    def execute(self, action: Action) -> Outcome:
        self._ensure_open()
        if action.type not in self.capabilities:
            raise UnsupportedAction(
                f"the {self.kind} env cannot perform '{action.type}' actions; "
                f"it can do: {', '.join(sorted(self.capabilities))}"
            )
        self._check_bounds(action)
        start = time.perf_counter()
        info = self._perform(action) or {}
        return Outcome(duration_s=time.perf_counter() - start, info=info)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._close()

    def __enter__(self) -> BaseEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- helpers -------------------------------------------------------------------
    def _ensure_open(self) -> None:
        if self._closed:
            raise EnvError(f"the {self.kind} env is closed; create a new one with make_env()")

    def _check_bounds(self, action: Action) -> None:
        points = [(getattr(action, "x", None), getattr(action, "y", None))]
        if hasattr(action, "to_x"):
            points.append((action.to_x, action.to_y))  # type: ignore[union-attr]
        points = [(x, y) for x, y in points if x is not None and y is not None]
        if not points:
            return
        width, height = self._screen_size()
        for x, y in points:
            if not (0 <= x < width and 0 <= y < height):
                raise OutOfScreen(
                    f"point ({x}, {y}) is outside the {width}x{height} screenshot; "
                    f"x must be in 0..{width - 1} and y in 0..{height - 1}"
                )


def screens_match(a: Image, b: Image, tolerance: float = 0.0) -> bool:
    """True when two screenshots differ in at most ``tolerance`` of their pixels.

    Compared at a quarter of the resolution in greyscale (box-averaged with
    ``reduce``, several times cheaper than a filtered ``resize``), which also
    hides the sub-pixel noise some compositors add.
    """
    if a.size != b.size:
        return False
    if tolerance <= 0:
        return a.tobytes() == b.tobytes()
    from PIL import ImageChops

    factor = 4 if min(a.size) >= 4 else 1
    small_a = a.convert("L").reduce(factor)
    small_b = b.convert("L").reduce(factor)
    diff = ImageChops.difference(small_a, small_b).point(lambda v: 255 if v > 8 else 0)
    changed = diff.histogram()[255]
    return changed <= tolerance * small_a.width * small_a.height
