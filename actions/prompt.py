"""One prompt builder for every backend and every model family.

A family's :class:`~qwen_gui_agent.actions.dialects.Dialect` supplies the words
(its system prompt, its user turn, how a past step reads); this module lays
them out as messages, the same way for a local model and an endpoint:

- step-line families (Qwen2.5-VL, Qwen3-VL): one user turn, the task and the
  steps so far (``Step 1: {call}; Step 2: ...``, as the model would have written
  them, runtime feedback in parentheses after its step), then the screenshot;
  past screenshots, when shown, follow their ``Step k:`` label;
- turn families (UI-TARS-1.5): the instruction, then each past step as the
  model's own earlier assistant turn (its screenshot before it, when shown,
  and runtime feedback after it), then the current screenshot.

Messages are neutral OpenAI-style dicts whose image parts hold the PIL image
already resized to the size the family's processor would give it, so the
local processor and an endpoint see the same pixels and neither resizes
again. The output is fully determined by the arguments; :func:`messages_to_json`
gives a JSON-able copy with image placeholders for trajectories,
:func:`messages_to_text` the ChatML text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from qwen_gui_agent._cache import IdentityCache
from qwen_gui_agent._text import repair
from qwen_gui_agent.actions.coordinates import CoordinateFrame
from qwen_gui_agent.actions.dialects import DEFAULT_FAMILY, Dialect, get_dialect
from qwen_gui_agent.actions.frame import ImageBounds
from qwen_gui_agent.errors import UsageError

if TYPE_CHECKING:
    from PIL.Image import Image

    from qwen_gui_agent.actions.decision import HistoryEntry
    from qwen_gui_agent.actions.observation import Observation

IMAGE_PLACEHOLDER = "<|vision_start|><|image_pad|><|vision_end|>"
_IMAGE_MARK = "\ue000"
"""Where a past screenshot goes inside a step line: a private-use character, removed from
every text the prompt is built from (:func:`_unmarked`) so only the builder places it."""


def frame_for(observation: Observation, bounds: ImageBounds | None = None,
              dialect: Dialect | None = None) -> CoordinateFrame:
    """The family's frame for this observation's screenshot (the family's bounds unless given)."""
    dialect = dialect or get_dialect(DEFAULT_FAMILY)
    return dialect.frame(observation.width, observation.height, bounds)


_MODEL_IMAGES: IdentityCache[Image, Image] = IdentityCache()
"""Each screenshot's model-size copy, computed once while the screenshot lives: a
past screenshot shown again in the next prompts is not resized (or, by an
endpoint, encoded) again."""


def resize_for_model(image: Image, frame: CoordinateFrame) -> Image:
    """``image`` as RGB at the size the model is fed (bicubic, like the Qwen image processor)."""
    resized = _MODEL_IMAGES.get(image, lambda source: _resize(source, frame))
    return resized if resized.size == frame.image_size else _resize(image, frame)


def _resize(image: Image, frame: CoordinateFrame) -> Image:
    from PIL import Image as PILImage

    image = image.convert("RGB") if image.mode != "RGB" else image
    if image.size == frame.image_size:
        return image
    return image.resize(frame.image_size, PILImage.Resampling.BICUBIC)


def build_messages(
    task: str,
    observation: Observation,
    history: Sequence[HistoryEntry],
    frame: CoordinateFrame,
    *,
    dialect: Dialect | None = None,
    history_images: int = 0,
    extensions: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """The messages for one decision, in the family's trained layout (see the module doc).

    ``frame`` is the family's frame of ``observation`` (:func:`frame_for`).
    ``history_images`` > 0 also shows the screenshots of the last N steps that
    kept one (``HistoryEntry.observation``); the current screenshot always comes
    last. ``extensions`` advertise actions the family was not trained on
    (Qwen2.5-VL only).
    """
    if history_images < 0:
        raise UsageError(f"history_images must be >= 0, got {history_images}")
    dialect = dialect or get_dialect(DEFAULT_FAMILY)
    env = observation.env
    system = dialect.system_prompt(frame, env, extensions=extensions)
    shown = _steps_with_images(history, history_images)
    current = _image(resize_for_model(observation.image, frame))
    if dialect.history_as_turns:
        turns = _past_turns(history, shown, frame, dialect, env)
        user = [_user(_text(dialect.user_prompt(task, env)))]
        return [_system(system), *user, *turns, _user(current)]
    images: list[dict[str, Any]] = []
    steps = []
    for number, entry in enumerate(history, start=1):
        mark = ""
        if number in shown and entry.observation is not None:
            images.append(_past_image(entry.observation, frame, dialect))
            mark = _IMAGE_MARK + " "
        steps.append(mark + _unmarked(_step_line(entry, frame, dialect, env)))
    pieces = dialect.user_prompt(_unmarked(task), env, steps).split(_IMAGE_MARK)
    content = [_text(pieces[0])]
    for image, text in zip(images, pieces[1:]):
        content += [image, _text(text)]
    return [_system(system), _user(*content, current)]


def _unmarked(text: str) -> str:
    return text.replace(_IMAGE_MARK, "\ufffd")


def _steps_with_images(history: Sequence[HistoryEntry], count: int) -> set[int]:
    """1-based numbers of the last ``count`` steps that kept their screenshot."""
    if count == 0:
        return set()
    kept = [n for n, entry in enumerate(history, start=1) if entry.observation is not None]
    return set(kept[-count:])


def _step_frame(entry: HistoryEntry, frame: CoordinateFrame, dialect: Dialect) -> CoordinateFrame:
    """The frame of the screen a past step acted on (it may have been another size)."""
    if entry.screen_size is None or tuple(entry.screen_size) == frame.screen_size:
        return frame
    return dialect.frame(*entry.screen_size, frame.bounds)


def _step_line(entry: HistoryEntry, frame: CoordinateFrame, dialect: Dialect, env: str) -> str:
    """A past step as the model's own calls, plus the runtime's feedback in parentheses."""
    calls = dialect.describe_step(entry.actions, _step_frame(entry, frame, dialect), env, entry.raw) \
        if entry.actions else ""
    # The trained progress line is one line of steps; a multi-line error message would break it.
    feedback = " ".join(entry.feedback.split()) if entry.feedback else ""
    if not calls:
        return f"(no action; {feedback})" if feedback else "(no action)"
    return f"{calls} ({feedback})" if feedback else calls


def _past_turns(history: Sequence[HistoryEntry], shown: set[int], frame: CoordinateFrame,
                dialect: Dialect, env: str) -> list[dict[str, Any]]:
    """Past steps as the model's earlier replies, each after its screenshot when shown."""
    turns: list[dict[str, Any]] = []
    for number, entry in enumerate(history, start=1):
        if number in shown and entry.observation is not None:
            turns.append(_user(_past_image(entry.observation, frame, dialect)))
        reply = dialect.describe_step(entry.actions, _step_frame(entry, frame, dialect), env,
                                      entry.raw)
        if reply:
            turns.append({"role": "assistant", "content": [_text(reply)]})
        if entry.feedback:
            turns.append(_user(_text(f"({' '.join(entry.feedback.split())})")))
    return turns


def _past_image(past: Observation, frame: CoordinateFrame, dialect: Dialect) -> dict[str, Any]:
    return _image(resize_for_model(past.image, dialect.frame(past.width, past.height, frame.bounds)))


def _system(text: str) -> dict[str, Any]:
    return {"role": "system", "content": [_text(text)]}


def _user(*parts: dict[str, Any]) -> dict[str, Any]:
    return {"role": "user", "content": list(parts)}


def _text(text: str) -> dict[str, Any]:
    return {"type": "text", "text": repair(text)}  # a tokenizer refuses lone surrogates


def _image(image: Image) -> dict[str, Any]:
    return {"type": "image", "image": image}


def images_of(messages: Sequence[dict[str, Any]]) -> list[Image]:
    """The images of ``messages`` in the order they appear (the processor's order)."""
    return [part["image"] for m in messages for part in m["content"] if part["type"] == "image"]


def messages_to_json(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """A JSON-able copy: each image becomes ``{"type": "image", "width", "height"}``."""
    return [
        {"role": m["role"], "content": [
            {"type": "image", "width": p["image"].width, "height": p["image"].height}
            if p["type"] == "image" else dict(p)
            for p in m["content"]
        ]}
        for m in messages
    ]


def messages_to_text(messages: Sequence[dict[str, Any]]) -> str:
    """The ChatML text the model reads, with one vision placeholder per image.

    The same string the Qwen2.5-VL chat template renders (before the processor
    expands ``<|image_pad|>`` to one token per 28x28 patch), generation prompt included.
    """
    out = []
    for m in messages:
        body = "".join(
            IMAGE_PLACEHOLDER if p["type"] == "image" else p["text"] for p in m["content"]
        )
        out.append(f"<|im_start|>{m['role']}\n{body}<|im_end|>\n")
    return "".join(out) + "<|im_start|>assistant\n"
