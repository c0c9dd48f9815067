"""What a policy decides and what it remembers of earlier steps.

Part of the shared vocabulary: policies produce a :class:`Decision`, the loop
keeps :class:`HistoryEntry` s, and the prompt builder and export read both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qwen_gui_agent.actions.models import Action
    from qwen_gui_agent.actions.observation import Observation


@dataclass
class HistoryEntry:
    """One earlier step as the policy sees it.

    ``actions`` are in screenshot pixels of ``screen_size``; ``feedback`` is what
    the runtime told the model after that step (a parse error, an action the
    env refused, a stuck-loop hint), or None.
    """

    actions: Sequence[Action]
    raw: str = ""
    thought: str | None = None
    feedback: str | None = None
    screen_size: tuple[int, int] | None = None
    observation: Observation | None = None
    """Kept only when a policy asked for past screenshots (``history_images``)."""


@dataclass
class Decision:
    """What a policy decided for one step."""

    actions: tuple[Action, ...]
    """In screenshot pixels, in the order to perform them (usually one)."""
    raw: str = ""
    """The model's exact output text."""
    thought: str | None = None
    model_calls: list[dict[str, Any]] = field(default_factory=list)
    """The tool calls as the model emitted them, in model-image pixels."""
    model_size: tuple[int, int] | None = None
    """``(width, height)`` of the image the model saw."""
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds: ``preprocess``, ``generate``, ``parse`` (what the backend measured)."""
    prompt: list[dict[str, Any]] | None = None
    """The messages sent, JSON-ready, each image as ``{"type": "image", "width", "height"}``
    (see ``actions.prompt.messages_to_json``); None for policies without a prompt."""

    extra: dict[str, Any] = field(default_factory=dict)
    """JSON-ready facts the policy wants kept with the step (a replay's source step, say)."""

    @property
    def action(self) -> Action:
        """The first action; most decisions have exactly one."""
        return self.actions[0]
