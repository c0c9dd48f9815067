"""The on-disk trajectory format, version 1: one directory per run.

Layout::

    RUN_DIR/
      trajectory.jsonl          one JSON object per line, UTF-8
      screenshots/
        step_0001.png           the observation of step 1, lossless, screenshot pixels

``trajectory.jsonl`` holds, in order:

1. a **header** (:class:`Header`, ``"type": "header"``): ``format_version``,
   ``created`` (Unix time), ``task``, ``env`` (``desktop`` | ``browser`` |
   ``android``) and ``env_options``, ``tool_name`` (``computer_use`` |
   ``mobile_use``), ``family`` (the model family: ``qwen2.5-vl``,
   ``qwen3-vl`` or ``ui-tars``; version 1 runs are ``qwen2.5-vl``),
   ``image_bounds`` (the model frame's ``min_pixels``,
   ``max_pixels`` and resize ``factor``; version 1 stored the first two flat),
   ``policy`` (model path or endpoint, sampling and prompt settings such as
   ``history_images``), ``versions`` (package versions) and any further keys
   the caller adds (kept as they are);
2. one **step** per line (:class:`StepRecord`, ``"type": "step"``): ``index``,
   ``time``, ``observation`` (``Observation.metadata()``: env, timestamp,
   width, height, app, url, title, monitor, extra), ``screenshot`` (the PNG's
   path relative to the run directory), ``prompt`` (the messages as sent, from
   ``Decision.prompt``, images as ``{"type": "image", "width", "height"}``; None
   for policies that build no prompt: export then rebuilds it from the header
   and the earlier steps), ``raw`` (the model's exact text), ``thought``, ``actions``
   (unified actions in screenshot pixels), ``model_calls`` (the tool calls in
   model-image pixels), ``model_size`` (``[width, height]`` of the image the
   model saw), ``prompt_tokens`` / ``output_tokens``, ``model_timings``
   (preprocess / generate / parse seconds), ``decided`` (False when the
   policy raised, e.g. on unparsable output; ``error`` then says why),
   ``executed``, ``outcome`` (``duration_s``, ``info``), ``error``,
   ``feedback`` (what the model was told next), ``timings`` (the loop's own
   seconds per phase) and ``extra`` (e.g. replay facts; ``performed``, the
   number of leading actions that ran when a refusal, a failure or a final
   action cut a multi-action decision short);
3. a **summary** (:class:`Summary`, ``"type": "summary"``): ``status``,
   ``answer``, ``message``, ``steps``, ``time``. A file without one comes from
   a run that was killed; readers report its status as ``incomplete``.

Durability: every line is flushed and fsynced as soon as it is written, so a
killed process leaves every finished step readable; only the last line can be
torn, and readers ignore a torn last line. Screenshots are encoded on a
background thread and appear atomically (written to a temporary name, then
renamed), *after* their step line: after a crash the newest few steps may
lack their PNG, but no PNG is ever partial. Readers treat a missing
screenshot as absent, never as an error.

Secrets: the recorder passes every string it writes through the caller's
``redact`` function (raw text, thought, error, feedback, titles, URLs, the
text of actions, header values). Pixels are stored as captured.

Compatibility: readers accept any ``format_version`` up to
:data:`FORMAT_VERSION` and refuse newer ones with a :class:`TrajectoryError`.
Unknown keys are kept, so a newer writer's additions survive a round trip.
"""

from __future__ import annotations

import dataclasses
import time
from typing import Annotated, Any, Literal, Union, get_type_hints

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    create_model,
    field_validator,
    model_validator,
)

from qwen_gui_agent.actions.coordinates import CoordinateFrame
from qwen_gui_agent.actions.dialects import DEFAULT_FAMILY, Dialect, get_dialect
from qwen_gui_agent.actions.frame import ImageBounds
from qwen_gui_agent.actions.models import Action
from qwen_gui_agent.actions.observation import Observation

FORMAT_VERSION = 2
TRAJECTORY_FILE = "trajectory.jsonl"
SCREENSHOT_DIR = "screenshots"
INCOMPLETE = "incomplete"
"""The status of a run whose summary line is missing (the process was killed)."""



class _Record(BaseModel):
    model_config = ConfigDict(extra="allow")


class Header(_Record):
    """The run's settings: enough to replay it and to rebuild its prompts."""

    type: Literal["header"] = "header"
    format_version: int = FORMAT_VERSION
    created: float = Field(default_factory=time.time)
    task: str
    env: str
    env_options: dict[str, Any] = Field(default_factory=dict)
    tool_name: str | None = None
    family: str = DEFAULT_FAMILY
    image_bounds: ImageBounds = ImageBounds()
    policy: dict[str, Any] = Field(default_factory=dict)
    versions: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _version_1_bounds(cls, data: Any) -> Any:
        """Version 1 kept ``min_pixels`` / ``max_pixels`` flat in the header."""
        if isinstance(data, dict) and "image_bounds" not in data and (
                "min_pixels" in data or "max_pixels" in data):
            data = dict(data)
            data["image_bounds"] = {key: data.pop(key) for key in ("min_pixels", "max_pixels")
                                    if key in data}
        return data

    @field_validator("family")
    @classmethod
    def _known_family(cls, value: str) -> str:
        return get_dialect(value).name

    @property
    def dialect(self) -> Dialect:
        """The run's model family (its syntax, coordinate frame and prompt)."""
        return get_dialect(self.family)

    def frame(self, width: int, height: int) -> CoordinateFrame:
        """The model frame of a ``width`` x ``height`` screenshot under this run's settings."""
        return self.dialect.frame(width, height, self.image_bounds)


class _ScreenSize(_Record):
    width: int = Field(gt=0)
    height: int = Field(gt=0)

    @property
    def size(self) -> tuple[int, int]:
        return self.width, self.height


def _observation_fields() -> dict[str, Any]:
    """Every field of :class:`Observation` but the pixels, as pydantic field definitions."""
    hints = get_type_hints(Observation, localns={"Image": Any})
    fields: dict[str, Any] = {}
    for item in dataclasses.fields(Observation):
        if item.name == "image":
            continue
        if item.default is not dataclasses.MISSING:
            default: Any = item.default
        elif item.default_factory is not dataclasses.MISSING:
            default = Field(default_factory=item.default_factory)
        else:
            default = ...
        fields[item.name] = (hints[item.name], default)
    return fields


ObservationMeta = create_model(
    "ObservationMeta", __base__=_ScreenSize, __module__=__name__, **_observation_fields(),
)
"""``Observation.metadata()``: the screenshot's size and every other field of
:class:`~qwen_gui_agent.actions.observation.Observation` (derived from it, so the
two cannot drift apart)."""


class OutcomeRecord(_Record):
    """``Outcome`` of an action the env performed."""

    duration_s: float
    info: dict[str, Any] = Field(default_factory=dict)


class StepRecord(_Record):
    """One step of the loop: what was seen, decided, done, and how long it took."""

    type: Literal["step"] = "step"
    index: int = Field(ge=0)
    time: float = Field(default_factory=time.time)
    observation: ObservationMeta
    screenshot: str | None = None
    prompt: Any = None
    raw: str | None = None
    thought: str | None = None
    actions: list[Action] = Field(default_factory=list)
    model_calls: list[dict[str, Any]] = Field(default_factory=list)
    model_size: tuple[int, int] | None = None
    prompt_tokens: int | None = None
    output_tokens: int | None = None
    model_timings: dict[str, float] = Field(default_factory=dict)
    decided: bool = True
    executed: bool = False
    outcome: OutcomeRecord | None = None
    error: str | None = None
    feedback: str | None = None
    timings: dict[str, float] = Field(default_factory=dict)
    extra: dict[str, Any] = Field(default_factory=dict)

    @property
    def screen_size(self) -> tuple[int, int]:
        """``(width, height)`` of the screenshot the actions refer to."""
        return self.observation.size


class Summary(_Record):
    """How the run ended."""

    type: Literal["summary"] = "summary"
    status: str
    answer: str | None = None
    message: str | None = None
    steps: int = Field(ge=0)
    time: float = Field(default_factory=time.time)


Line = Annotated[Union[Header, StepRecord, Summary], Field(discriminator="type")]
LINE_ADAPTER: TypeAdapter[Any] = TypeAdapter(Line)


def screenshot_name(index: int) -> str:
    """The screenshot's path relative to the run directory, e.g. ``screenshots/step_0001.png``."""
    return f"{SCREENSHOT_DIR}/step_{index:04d}.png"
