"""The unified action space: one pydantic model per action.

Every coordinate is an absolute pixel of the observation's screenshot (the
image a person would look at), whatever the env and whatever the model's own
image size. Executors convert to their input space; policies convert from the
model's. Actions are immutable and round-trip through JSON::

    >>> action = Click(x=10, y=20)
    >>> parse_action(action.model_dump_json()) == action
    True
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Union

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
    model_validator,
)

from qwen_gui_agent.actions.keys import normalize_key, split_combo

Pixel = Annotated[int, Field(ge=0, description="absolute screenshot pixel")]
Seconds = Annotated[float, Field(ge=0, le=600)]


class _Action(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    @property
    def point(self) -> tuple[int, int] | None:
        """The screenshot pixel this action targets, if it targets one."""
        x, y = getattr(self, "x", None), getattr(self, "y", None)
        return None if x is None or y is None else (x, y)


class Click(_Action):
    """Press and release a mouse button (or tap, on a touch screen) ``count`` times."""

    type: Literal["click"] = "click"
    x: Pixel
    y: Pixel
    button: Literal["left", "right", "middle"] = "left"
    count: int = Field(1, ge=1, le=3, description="1 single, 2 double, 3 triple click")


class LongPress(_Action):
    """Touch and hold (or hold the left button) for ``duration`` seconds."""

    type: Literal["long_press"] = "long_press"
    x: Pixel
    y: Pixel
    duration: float = Field(1.0, gt=0, le=60)


class Move(_Action):
    """Move the pointer without pressing anything (hover)."""

    type: Literal["move"] = "move"
    x: Pixel
    y: Pixel


class Drag(_Action):
    """Press at (x, y), move to (to_x, to_y) over ``duration`` seconds, release.

    On a touch screen this is a swipe.
    """

    type: Literal["drag"] = "drag"
    x: Pixel
    y: Pixel
    to_x: Pixel
    to_y: Pixel
    duration: float = Field(0.5, ge=0, le=60)


class Scroll(_Action):
    """Scroll by a pixel distance, optionally with the pointer at (x, y) first.

    Sign convention (the one browsers use for wheel events): ``dy > 0`` scrolls
    *down*, revealing content below; ``dy < 0`` scrolls up; ``dx > 0`` scrolls
    right. Note that Qwen's ``computer_use`` ``pixels`` argument has the opposite
    sign (positive = up); the translation layer handles it.
    """

    type: Literal["scroll"] = "scroll"
    x: Pixel | None = None
    y: Pixel | None = None
    dx: int = 0
    dy: int = 0

    @model_validator(mode="after")
    def _check(self) -> "Scroll":
        if self.dx == 0 and self.dy == 0:
            raise ValueError("a scroll needs a non-zero dx or dy")
        if (self.x is None) != (self.y is None):
            raise ValueError("give both x and y, or neither")
        return self


class TypeText(_Action):
    """Type text into whatever has keyboard focus. Any Unicode is allowed."""

    type: Literal["type"] = "type"
    text: str = Field(min_length=1)


class Key(_Action):
    """Press keys together (a chord such as ctrl+c), releasing in reverse order.

    Names are normalised to the vocabulary in :mod:`qwen_gui_agent.actions.keys`;
    a single string such as ``"ctrl+c"`` is accepted and split.
    """

    type: Literal["key"] = "key"
    keys: list[str] = Field(min_length=1, max_length=6)

    @field_validator("keys", mode="before")
    @classmethod
    def _normalize(cls, value: Any) -> Any:
        if isinstance(value, str):
            return split_combo(value)
        if isinstance(value, (list, tuple)):
            return [normalize_key(k) for k in value]
        return value


class SystemButton(_Action):
    """A phone's system navigation button."""

    type: Literal["system_button"] = "system_button"
    button: Literal["back", "home", "menu", "enter"]

    @field_validator("button", mode="before")
    @classmethod
    def _lower(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value


class OpenApp(_Action):
    """Open an application by its name (label) or package / executable."""

    type: Literal["open_app"] = "open_app"
    name: str = Field(min_length=1)


class Navigate(_Action):
    """Load a URL in the browser."""

    type: Literal["navigate"] = "navigate"
    url: str = Field(min_length=1)


class Wait(_Action):
    """Do nothing for ``seconds`` and look again."""

    type: Literal["wait"] = "wait"
    seconds: Seconds = 1.0


class Answer(_Action):
    """Finish the task by giving the user an answer (an information request)."""

    type: Literal["answer"] = "answer"
    text: str = Field(min_length=1)


class Terminate(_Action):
    """Finish the task, reporting whether it succeeded."""

    type: Literal["terminate"] = "terminate"
    status: Literal["success", "failure"]


Action = Annotated[
    Union[
        Click, LongPress, Move, Drag, Scroll, TypeText, Key, SystemButton,
        OpenApp, Navigate, Wait, Answer, Terminate,
    ],
    Field(discriminator="type"),
]
"""Any unified action; discriminated on ``type``."""

ACTION_TYPES: tuple[type[_Action], ...] = (
    Click, LongPress, Move, Drag, Scroll, TypeText, Key, SystemButton,
    OpenApp, Navigate, Wait, Answer, Terminate,
)
ACTION_BY_TYPE: dict[str, type[_Action]] = {
    cls.model_fields["type"].default: cls for cls in ACTION_TYPES
}
FINAL_ACTIONS = (Answer, Terminate)
"""Actions that end a run."""

_ADAPTER: TypeAdapter[Any] = TypeAdapter(Action)


def parse_action(data: str | bytes | dict[str, Any]) -> Action:
    """Build an action from its JSON text or dict (raises pydantic's ``ValidationError``)."""
    if isinstance(data, (str, bytes)):
        return _ADAPTER.validate_json(data)
    return _ADAPTER.validate_python(data)


def action_to_dict(action: Action) -> dict[str, Any]:
    """The JSON-ready dict of an action, ``type`` included."""
    return action.model_dump(mode="json")
