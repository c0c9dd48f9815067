"""The part of ``decide`` every backend shares: prompt in, parsed decision out.

A backend only says how to turn the messages into text (:meth:`PromptedPolicy._complete`);
building the prompt in the family's layout, mapping coordinates back to the
screenshot, parsing and timing happen here once, so the local model and an
endpoint cannot drift apart, whatever the model family.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from qwen_gui_agent.actions.coordinates import CoordinateFrame
from qwen_gui_agent.actions.decision import Decision
from qwen_gui_agent.actions.dialects import DEFAULT_FAMILY, Dialect, get_dialect
from qwen_gui_agent.actions.frame import ImageBounds
from qwen_gui_agent.actions.prompt import build_messages, frame_for, messages_to_json
from qwen_gui_agent.actions.translate import pointer_after
from qwen_gui_agent.errors import ParseError, UsageError

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import HistoryEntry
    from qwen_gui_agent.actions.observation import EnvKind, Observation


@dataclass
class Completion:
    """What a backend returns for one prompt."""

    text: str
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    preprocess_s: float = 0.0
    """Backend-side preparation (processor, request encoding), on top of prompt building."""
    generate_s: float = 0.0


@dataclass
class Prompt:
    """One decision's request: the messages, and what parsing the answer needs."""

    messages: list[dict[str, Any]]
    """Neutral chat messages, images already at the size the family's processor gives them."""
    frame: CoordinateFrame
    env: EnvKind
    pointer: tuple[int, int] | None
    """Where earlier actions left the pointer (for calls that act at the cursor)."""
    build_s: float = 0.0


def resolve_family(dialect: Dialect | str | None) -> Dialect:
    """A dialect from a dialect, a family name, or None (the default family)."""
    if isinstance(dialect, Dialect):
        return dialect
    return get_dialect(dialect or DEFAULT_FAMILY)


class PromptedPolicy(ABC):
    """A policy that prompts a model in its family's trained format and parses the answer.

    ``family`` is a :class:`~qwen_gui_agent.actions.dialects.Dialect` or its name
    (``qwen2.5-vl`` by default); ``min_pixels`` / ``max_pixels`` change its pixel
    budget (its resize factor stays the family's).
    """

    def __init__(self, *, family: Dialect | str | None = None, min_pixels: int | None = None,
                 max_pixels: int | None = None, history_images: int = 0,
                 extensions: Iterable[str] = ()) -> None:
        if history_images < 0:
            raise UsageError(f"history_images must be >= 0, got {history_images}")
        self.dialect = resolve_family(family)
        """The model family: its syntax, coordinate frame and prompt; the run header records it."""
        self.image_bounds: ImageBounds = self.dialect.image_bounds(min_pixels, max_pixels)
        """The bounds of the image the model sees; the run header records them."""
        self.history_images = history_images
        self.extensions = tuple(extensions)
        self.dialect.check_extensions(self.extensions)

    @property
    def family(self) -> str:
        return self.dialect.name

    def decide(self, task: str, observation: Observation,
               history: Sequence[HistoryEntry]) -> Decision:
        """Prompt the model and return its actions in screenshot pixels.

        Raises ``ParseError`` (with ``.text`` the raw output) when the answer is
        not a valid tool call, so the loop can feed the error back.
        """
        prompt = self.prompt(task, observation, history)
        return self.decision(prompt, self._complete(prompt.messages))

    def prompt(self, task: str, observation: Observation,
               history: Sequence[HistoryEntry]) -> Prompt:
        """The first half of :meth:`decide`: the messages for one decision and how to read
        the answer. Public so a backend can run many prompts at once (``model.batched``)."""
        start = time.perf_counter()
        frame = frame_for(observation, self.image_bounds, self.dialect)
        messages = build_messages(task, observation, history, frame, dialect=self.dialect,
                                  history_images=self.history_images, extensions=self.extensions)
        return Prompt(messages, frame, observation.env, _pointer(history), time.perf_counter() - start)

    def decision(self, prompt: Prompt, completion: Completion) -> Decision:
        """The second half of :meth:`decide`: parse ``completion`` into a :class:`Decision`."""
        start = time.perf_counter()
        timings = {"preprocess": prompt.build_s + completion.preprocess_s,
                   "generate": completion.generate_s}
        output = Decision(
            actions=(), raw=completion.text, model_size=prompt.frame.model_size,
            prompt_tokens=completion.prompt_tokens, output_tokens=completion.output_tokens,
            timings=timings, prompt=messages_to_json(prompt.messages),
        )
        try:
            response = self.dialect.parse(completion.text, prompt.frame, prompt.env,
                                          pointer=prompt.pointer)
        except ParseError as exc:
            timings["parse"] = time.perf_counter() - start
            exc.output = output  # an unusable answer is when its prompt and timings matter most
            raise
        timings["parse"] = time.perf_counter() - start
        return replace(output, actions=tuple(response.actions), thought=response.thought,
                       model_calls=list(response.calls))

    @abstractmethod
    def _complete(self, messages: list[dict[str, Any]]) -> Completion:
        """Run the model on ``messages`` (images already at model size)."""


def _pointer(history: Sequence[HistoryEntry]) -> tuple[int, int] | None:
    """Where earlier actions left the pointer (for calls that act at the cursor)."""
    pointer = None
    for entry in history:
        for action in entry.actions:
            pointer = pointer_after(action, pointer)
    return pointer
