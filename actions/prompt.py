"""One prompt for every backend, in Qwen2.5-VL's trained agent format.

The messages follow the Qwen2.5-VL mobile-agent cookbook: a system message
with the ``computer_use`` / ``mobile_use`` tool schema (whose description states
the resized screen resolution), then one user turn::

    The user query:  {task}
    Task progress (You have done the following operation on the current device): Step 1: {call}; Step 2: {call}; <screenshot>

Past steps are the tool calls in *model* pixels of the screen they acted on
(as the model would have written them); runtime feedback on a step (a parse
error, a refused action, a stuck hint) follows that step in parentheses.

Messages are neutral OpenAI-style dicts whose image parts hold the PIL image
already resized to the frame's model size, so the local processor and an
endpoint see the same pixels and neither resizes again. The output is fully
determined by the arguments; :func:`messages_to_json` gives a JSON-able copy
with image placeholders for trajectories, :func:`messages_to_text` the ChatML text.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from qwen_gui_agent._cache import IdentityCache
from qwen_gui_agent._text import repair
from qwen_gui_agent.actions.dialects.qwen25 import QUERY_PREFIX
from qwen_gui_agent.actions.dialects.toolcall import PROGRESS_PREFIX, call_json
from qwen_gui_agent.actions.frame import Frame, ImageBounds
from qwen_gui_agent.actions.tools import system_prompt, tool_name_for
from qwen_gui_agent.errors import UsageError

if TYPE_CHECKING:
    from PIL.Image import Image

    from qwen_gui_agent.actions.decision import HistoryEntry
    from qwen_gui_agent.actions.observation import Observation

IMAGE_PLACEHOLDER = "<|vision_start|><|image_pad|><|vision_end|>"


def frame_for(observation: Observation, bounds: ImageBounds = ImageBounds()) -> Frame:
    """The frame mapping this observation's screenshot to the model's image."""
    return Frame(observation.width, observation.height, bounds)


_MODEL_IMAGES: IdentityCache[Image, Image] = IdentityCache()
"""Each screenshot's model-size copy, computed once while the screenshot lives: a
past screenshot shown again in the next prompts is not resized (or, by an
endpoint, encoded) again."""


def resize_for_model(image: Image, frame: Frame) -> Image:
    """``image`` as RGB at the frame's model size (bicubic, like the Qwen image processor)."""
    resized = _MODEL_IMAGES.get(image, lambda source: _resize(source, frame))
    return resized if resized.size == frame.model_size else _resize(image, frame)


def _resize(image: Image, frame: Frame) -> Image:
    from PIL import Image as PILImage

    image = image.convert("RGB") if image.mode != "RGB" else image
    if image.size == frame.model_size:
        return image
    return image.resize(frame.model_size, PILImage.Resampling.BICUBIC)


def build_messages(
    task: str,
    observation: Observation,
    history: Sequence[HistoryEntry],
    frame: Frame,
    *,
    history_images: int = 0,
    tool_name: str | None = None,
    extensions: Iterable[str] = (),
) -> list[dict[str, Any]]:
    """The system and user messages for one decision.

    ``history_images`` > 0 also shows the screenshots of the last N steps that
    kept one (``HistoryEntry.observation``), each right after its ``Step k:``
    label; the current screenshot always comes last.
    """
    if history_images < 0:
        raise UsageError(f"history_images must be >= 0, got {history_images}")
    tool = tool_name or tool_name_for(observation.env)
    system = system_prompt(tool, frame, extensions=extensions)
    shown = _steps_with_images(history, history_images)
    content: list[dict[str, Any]] = []
    text = QUERY_PREFIX + task + "\n" + PROGRESS_PREFIX
    for number, entry in enumerate(history, start=1):
        text += f"Step {number}: "
        past = entry.observation if number in shown else None
        if past is not None:
            past_frame = Frame(past.width, past.height, frame.bounds)
            content += [_text(text), _image(resize_for_model(past.image, past_frame))]
            text = " "
        text += _describe_step(entry, tool, frame) + "; "
    content += [_text(text), _image(resize_for_model(observation.image, frame))]
    return [
        {"role": "system", "content": [_text(system)]},
        {"role": "user", "content": content},
    ]


def _steps_with_images(history: Sequence[HistoryEntry], count: int) -> set[int]:
    """1-based numbers of the last ``count`` steps that kept their screenshot."""
    if count == 0:
        return set()
    kept = [n for n, entry in enumerate(history, start=1) if entry.observation is not None]
    return set(kept[-count:])


def _describe_step(entry: HistoryEntry, tool: str, frame: Frame) -> str:
    """A past step as the model's own tool calls, plus the runtime's feedback."""
    step_frame = Frame(*entry.screen_size, frame.bounds) if entry.screen_size else frame
    calls = ", ".join(call_json(action, step_frame, tool) for action in entry.actions)
    # The trained progress line is one line of steps; a multi-line error message would break it.
    feedback = " ".join(entry.feedback.split()) if entry.feedback else ""
    if not calls:
        return f"(no action; {feedback})" if feedback else "(no action)"
    return f"{calls} ({feedback})" if feedback else calls


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
