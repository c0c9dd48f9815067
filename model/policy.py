"""The policy protocol: the one thing the loop asks of a model (or of a user's code)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from qwen_gui_agent.actions.dialects import Dialect
from qwen_gui_agent.actions.frame import ImageBounds

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import Decision, HistoryEntry
    from qwen_gui_agent.actions.observation import Observation


@runtime_checkable
class Policy(Protocol):
    """Anything with ``decide`` is a policy: a local model, an endpoint, or a script."""

    def decide(
        self, task: str, observation: Observation, history: Sequence[HistoryEntry]
    ) -> Decision:
        """Return the next action(s); raise ``ParseError`` for output that is not one."""
        ...


@runtime_checkable
class ModelPolicy(Policy, Protocol):
    """A policy that shows a vision-language model of a known family a resized screenshot.

    Its ``dialect`` (the family) and ``image_bounds`` decide the model's syntax
    and coordinate frame, so the run header records them and export and replay
    rebuild every prompt and frame from them.
    """

    dialect: Dialect
    image_bounds: ImageBounds
