"""The part of ``decide`` every Qwen backend shares: prompt in, parsed decision out.

A backend only says how to turn the messages into text (:meth:`PromptedPolicy._complete`);
building the prompt, mapping coordinates back to the screenshot, parsing and
timing happen here once, so the local model and an endpoint cannot drift apart.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from qwen_gui_agent.actions.decision import Decision
from qwen_gui_agent.actions.frame import Frame, ImageBounds
from qwen_gui_agent.actions.parser import parse_response
from qwen_gui_agent.actions.prompt import build_messages, frame_for, messages_to_json
from qwen_gui_agent.actions.tools import tool_name_for
from qwen_gui_agent.actions.translate import pointer_after
from qwen_gui_agent.errors import ParseError, UsageError

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import HistoryEntry
    from qwen_gui_agent.actions.observation import Observation


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
    """Neutral chat messages, images already at the frame's model size."""
    frame: Frame
    tool: str
    pointer: tuple[int, int] | None
    """Where earlier actions left the pointer (for calls that act at the cursor)."""
    build_s: float = 0.0


class PromptedPolicy(ABC):
    """A policy that prompts Qwen2.5-VL in its trained format and parses the answer."""

    def __init__(self, *, image_bounds: ImageBounds = ImageBounds(), history_images: int = 0,
                 extensions: Iterable[str] = ()) -> None:
        if history_images < 0:
            raise UsageError(f"history_images must be >= 0, got {history_images}")
        self.image_bounds = image_bounds
        """The bounds of the image the model sees; the run header records them."""
        self.history_images = history_images
        self.extensions = tuple(extensions)

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
        frame = frame_for(observation, self.image_bounds)
        tool = tool_name_for(observation.env)
        messages = build_messages(task, observation, history, frame,
                                  history_images=self.history_images, tool_name=tool,
                                  extensions=self.extensions)
        return Prompt(messages, frame, tool, _pointer(history), time.perf_counter() - start)

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
            response = parse_response(completion.text, prompt.frame, tool_name=prompt.tool,
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
