"""Stuck detection: the same action on an unchanged screen, again and again.

Models caught in a loop repeat one action on a screen it does not change. The
detector counts such repeats; at ``limit`` the loop gives the model a hint
instead of performing the action once more, and one more repeat ends the run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Sequence

from qwen_gui_agent.envs.screens import screens_match
from qwen_gui_agent.errors import UsageError

if TYPE_CHECKING:
    from PIL.Image import Image

    from qwen_gui_agent.actions.models import Action

StuckState = Literal["ok", "hint", "stuck"]

_COORDINATE_FIELDS = ("x", "y", "to_x", "to_y")


def same_actions(a: Sequence[Action], b: Sequence[Action], tolerance_px: int = 0) -> bool:
    """True when both lists do the same thing, coordinates within ``tolerance_px``.

    Real models jitter by a few pixels when they retry a click; that is still a retry.
    """
    if len(a) != len(b):
        return False
    for left, right in zip(a, b):
        if left.type != right.type:
            return False
        lhs, rhs = left.model_dump(), right.model_dump()
        for name, value in lhs.items():
            other = rhs[name]
            if name in _COORDINATE_FIELDS and value is not None and other is not None:
                if abs(value - other) > tolerance_px:
                    return False
            elif value != other:
                return False
    return True


@dataclass
class StuckDetector:
    """Feed it each step's screen and actions; it says ``ok``, ``hint`` or ``stuck``."""

    limit: int = 3
    """Identical (action, screen) steps in a row that trigger the hint; one more is stuck."""
    tolerance: float = 0.002
    """Fraction of downsampled pixels that may differ on an 'unchanged' screen."""
    tolerance_px: int = 8

    def __post_init__(self) -> None:
        if self.limit < 2:
            raise UsageError("stuck limit must be at least 2 (the number of identical steps)")
        self.reset()

    def reset(self) -> None:
        self._screen: Image | None = None
        self._actions: Sequence[Action] = ()
        self.repeats = 0

    def update(self, screen: Image, actions: Sequence[Action]) -> StuckState:
        """Register the screen a decision was made on and the decided actions."""
        repeated = (
            self._screen is not None
            and same_actions(actions, self._actions, self.tolerance_px)
            and screens_match(self._screen, screen, self.tolerance)
        )
        self.repeats = self.repeats + 1 if repeated else 1
        self._screen, self._actions = screen, tuple(actions)
        if self.repeats > self.limit:
            return "stuck"
        return "hint" if self.repeats == self.limit else "ok"

    def hint(self) -> str:
        """The feedback the model gets at the ``hint`` stage."""
        return (
            f"You have chosen the same action {self.repeats} times in a row and the screen "
            "did not change, so it was not performed again. Try a different action, or "
            "terminate if the task cannot be done."
        )
