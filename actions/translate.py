"""Translation between Qwen tool calls (model pixels) and unified actions (screenshot pixels).

A call is ``{"name": "computer_use" | "mobile_use", "arguments": {"action": ..., ...}}``.
Both tools share one action vocabulary here: a phone model that says
``left_click`` or a desktop model that says ``swipe`` means something
unambiguous, and whether the env can do it is the env's call, not the parser's.

=====================  ===============================================================
call ``action``        unified action
=====================  ===============================================================
``left_click``,        ``Click`` left (right / middle); at ``coordinate``, or at the
``click``, ``tap``     current ``pointer`` when the call has none (trained
``right_click``,       ``computer_use`` clicks act at the cursor)
``middle_click``
``double_click``,      ``Click`` left, ``count`` 2 / 3
``triple_click``
``mouse_move``         ``Move``
``left_click_drag``,   ``Drag`` from ``start_coordinate`` (extension) or else the current
``drag``               ``pointer`` to ``coordinate``; given an explicit end (``coordinate2``
                       / ``end_coordinate``) it starts at ``coordinate`` as a swipe does;
                       ``time`` (extension) is the duration
``swipe``              ``Drag`` from ``coordinate`` to ``coordinate2`` (also spelled
                       ``start_coordinate`` / ``coordinate1`` and ``end_coordinate``)
``long_press``         ``LongPress``; ``time`` defaults to 1 s
``scroll``             ``Scroll`` with ``dy = -pixels`` (Qwen: positive scrolls up);
                       optional ``coordinate`` (extension) says where
``hscroll``            ``Scroll`` with ``dx = pixels`` (positive scrolls right)
``type``               ``TypeText``
``key``                ``Key``: ``keys`` (array) or ``text`` (an adb key name such as
                       ``KEYCODE_VOLUME_UP``, or a combo such as ``ctrl+c``)
``system_button``      ``SystemButton`` (``Back`` / ``Home`` / ``Menu`` / ``Enter``)
``open``               ``Navigate`` if ``text`` is a URL, else ``OpenApp``
``open_app``           ``OpenApp``
``navigate``           ``Navigate`` (``url``, or ``text``)
``wait``               ``Wait``; ``time`` defaults to 1 s
``answer``             ``Answer`` (``text``)
``terminate``          ``Terminate`` (``status``; ``fail`` / ``failed`` mean failure)
=====================  ===============================================================

Scroll amounts are wheel distances, not positions, so they are not rescaled.
``coordinate`` is also read from ``coordinates``, ``point`` (Qwen2.5-VL-72B writes
``{"name": "click", "point": [x, y]}``), ``position`` or separate ``x`` / ``y``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from typing import Any

from qwen_gui_agent.actions.coordinates import CoordinateFrame, Point
from qwen_gui_agent.actions.jsonish import loads_object
from qwen_gui_agent.actions.keys import split_combo
from qwen_gui_agent.actions.models import (
    Action,
    Answer,
    Click,
    Drag,
    Key,
    LongPress,
    Move,
    Navigate,
    OpenApp,
    Scroll,
    SystemButton,
    Terminate,
    TypeText,
    Wait,
)
from qwen_gui_agent.actions.tools import TOOL_NAMES, get_tool
from qwen_gui_agent.errors import CoordinateError, ParseError, UsageError, brief

# Written so that no two branches can match the same digits: model text is
# untrusted, and an ambiguous pattern backtracks quadratically on long junk.
_NUMBER = re.compile(r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_SEPARATOR = re.compile(r"[,\uff0c\s]+")
"""Between the numbers of a coordinate string; ``\uff0c`` is the full-width comma of CJK text."""
_COORDINATE_SPELLINGS = ("coordinates", "point", "position")
"""Other names models give the trained ``coordinate`` argument."""
_DRAG_START = ("start_coordinate", "coordinate1")
_DRAG_END = ("coordinate2", "end_coordinate")
_STATUS_SPELLINGS = {"fail": "failure", "failed": "failure", "successful": "success",
                     "succeeded": "success"}
"""Status words of other GUI-agent prompts (e.g. ``"success or fail"``), each unambiguous."""
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|about:|www\.)\S+$", re.IGNORECASE)
_DRAG_DURATION: float = Drag.model_fields["duration"].default
_LONG_PRESS_DURATION: float = LongPress.model_fields["duration"].default
_WAIT_SECONDS: float = Wait.model_fields["seconds"].default


class _Args:
    """The arguments of one call, with typed, lenient accessors that raise ParseError."""

    def __init__(
        self, args: Mapping[str, Any], frame: CoordinateFrame, pointer: Point | None
    ) -> None:
        self.args, self.frame, self.pointer = args, frame, pointer
        self.action = str(args["action"])

    def missing(self, names: tuple[str, ...], what: str) -> ParseError:
        return ParseError(f"`{self.action}` needs `{names[0]}` ({what})")

    def first(self, names: tuple[str, ...]) -> Any:
        """The value of the first of ``names`` that is present (models vary the spelling)."""
        return next((self.args[n] for n in names if self.args.get(n) is not None), None)

    def coordinate(self, names: tuple[str, ...]) -> Any:
        """The raw value of a coordinate; when ``coordinate`` is asked for, its other
        spellings and separate ``x`` / ``y`` arguments count too."""
        if "coordinate" not in names:
            return self.first(names)
        value = self.first(names + _COORDINATE_SPELLINGS)
        if value is None and {"x", "y"} <= self.args.keys():
            value = [self.args["x"], self.args["y"]]
        return value

    def point(self, *names: str) -> Point:
        """A required coordinate, converted from model to screenshot pixels."""
        value = self.coordinate(names)
        if value is None:
            raise self.missing(names, "[x, y] in pixels of the screenshot you see")
        return self._to_screen(names[0], value)

    def optional_point(self, *names: str) -> Point | None:
        value = self.coordinate(names)
        return None if value is None else self._to_screen(names[0], value)

    def target(self) -> Point:
        """``coordinate`` or, for a call that acts at the cursor, the known pointer."""
        point = self.optional_point("coordinate")
        if point is None:
            point = self.pointer
        if point is None:
            raise self.missing(("coordinate",), "[x, y] of the element to act on")
        return point

    def number(self, name: str, default: float | None = None) -> float:
        value = self.args.get(name)
        if value is None:
            if default is None:
                raise self.missing((name,), "a number")
            return default
        return number(value, f"`{name}`")

    def text(self, *names: str) -> str:
        value = self.first(names)
        if value is None:
            raise self.missing(names, "a string")
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise ParseError(f"`{names[0]}` of `{self.action}` must be a string")
        return str(value)

    def _to_screen(self, name: str, value: Any) -> Point:
        x, y = coordinate_pair(value, name)
        return screen_point(self.frame, x, y, f"`{name}` {brief(value)} of `{self.action}`")


def screen_point(frame: CoordinateFrame, x: float, y: float, what: str) -> Point:
    """A model point in screenshot pixels, or a ParseError saying the valid range of ``what``."""
    try:
        return frame.to_screen(x, y)
    except CoordinateError:
        width, height = frame.model_size
        raise ParseError(
            f"{what} is outside the screen: x must be in 0..{width - 1} and y in "
            f"0..{height - 1} (the screen is {width}x{height})"
        ) from None


def number(value: Any, what: str) -> float:
    """A finite number from a number or a numeric string such as ``"123"``; else ParseError."""
    if isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
        value = float(value.strip())
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
        isinstance(value, float) and not math.isfinite(value)
    ):
        raise ParseError(f"{what} must be a number, got {brief(value)}")
    return value


def coordinate_pair(value: Any, name: str) -> tuple[float, float]:
    """``[x, y]`` from a list, a tuple, ``{"x", "y"}``, or a string such as ``"[x, y]"`` /
    ``"(x, y)"``; a box ``[x1, y1, x2, y2]`` gives its centre."""
    if isinstance(value, str):
        inner = value.strip()
        if inner[:1] + inner[-1:] in ("[]", "()"):
            inner = inner[1:-1].strip()
        value = _SEPARATOR.split(inner)
        if not all(_NUMBER.fullmatch(part) for part in value):
            raise ParseError(f"`{name}` must be [x, y], got {brief(value)}")
    if isinstance(value, Mapping) and value.keys() == {"x", "y"}:
        value = [value["x"], value["y"]]
    if not isinstance(value, (list, tuple)):
        raise ParseError(f"`{name}` must be [x, y], got {brief(value)}")
    if len(value) == 4:  # a box [x1, y1, x2, y2], as Qwen grounds elements: aim at its centre
        x1, y1, x2, y2 = (number(v, f"`{name}`") for v in value)
        return (x1 + x2) / 2, (y1 + y2) / 2
    if len(value) != 2:
        raise ParseError(f"`{name}` must be two numbers [x, y] (or a box [x1, y1, x2, y2]), "
                         f"got {len(value)} values")
    return number(value[0], f"x of `{name}`"), number(value[1], f"y of `{name}`")


def _keys(a: _Args) -> Key:
    value = a.first(("keys", "text", "key"))
    if value is None:
        raise a.missing(("keys",), "an array of key names such as [\"ctrl\", \"c\"]")
    items = value if isinstance(value, (list, tuple)) else [value]
    if not items or not all(isinstance(item, str) and item for item in items):
        raise ParseError(f"`keys` must be non-empty key names, got {brief(value)}")
    return Key(keys=[name for item in items for name in split_combo(item)])


def _scroll(a: _Args, sign: int, axis: str) -> Scroll:
    pixels = round(a.number("pixels")) * sign
    point = a.optional_point("coordinate")
    x, y = point if point else (None, None)
    return Scroll(x=x, y=y, **{axis: pixels})


def _open(a: _Args) -> Action:
    name = a.text("text", "app", "app_name", "name", "url")
    return Navigate(url=name.strip()) if _URL.match(name.strip()) else OpenApp(name=name)


def _drag_from_pointer(a: _Args) -> Drag:
    """Trained: from the pointer to ``coordinate``. Given an explicit end, ``coordinate``
    is the start instead, as in a swipe."""
    end = a.optional_point(*_DRAG_END)
    start = a.optional_point(*_DRAG_START, *(("coordinate",) if end else ())) or a.pointer
    if start is None:
        raise ParseError(
            "`left_click_drag` drags from the current mouse position, which is unknown here; "
            "first call `mouse_move` to the start point, or give `start_coordinate` [x, y]"
        )
    return _drag(a, start, end or a.point("coordinate"))


def _swipe(a: _Args) -> Drag:
    return _drag(a, a.point("coordinate", *_DRAG_START), a.point(*_DRAG_END))


def _drag(a: _Args, start: Point, end: Point) -> Drag:
    return Drag(x=start[0], y=start[1], to_x=end[0], to_y=end[1],
                duration=a.number("time", _DRAG_DURATION))


def _terminate(a: _Args) -> Terminate:
    status = a.text("status").strip().lower()
    return Terminate(status=_STATUS_SPELLINGS.get(status, status))


def _move(a: _Args) -> Move:
    x, y = a.point("coordinate")
    return Move(x=x, y=y)


def _long_press(a: _Args) -> LongPress:
    x, y = a.point("coordinate")
    return LongPress(x=x, y=y, duration=a.number("time", _LONG_PRESS_DURATION))


def _click(button: str, count: int) -> Callable[[_Args], Action]:
    def build(a: _Args) -> Action:
        x, y = a.target()
        return Click(x=x, y=y, button=button, count=count)
    return build


_HANDLERS: dict[str, Callable[[_Args], Action]] = {
    "left_click": _click("left", 1),
    "click": _click("left", 1),
    "right_click": _click("right", 1),
    "middle_click": _click("middle", 1),
    "double_click": _click("left", 2),
    "triple_click": _click("left", 3),
    "mouse_move": _move,
    "left_click_drag": _drag_from_pointer,
    "swipe": _swipe,
    "long_press": _long_press,
    "scroll": lambda a: _scroll(a, -1, "dy"),
    "hscroll": lambda a: _scroll(a, 1, "dx"),
    "type": lambda a: TypeText(text=a.text("text")),
    "key": _keys,
    "system_button": lambda a: SystemButton(button=a.text("button")),
    "open": _open,
    "open_app": lambda a: OpenApp(name=a.text("text", "app", "app_name", "name")),
    "navigate": lambda a: Navigate(url=a.text("url", "text")),
    "wait": lambda a: Wait(seconds=a.number("time", _WAIT_SECONDS)),
    "answer": lambda a: Answer(text=a.text("text", "answer")),
    "terminate": _terminate,
}
_ALIASES = {
    "tap": "click", "double_tap": "double_click", "long_click": "long_press",
    "long_tap": "long_press", "hotkey": "key", "press_key": "key", "key_press": "key",
    "keypress": "key", "type_text": "type",
    "input_text": "type", "input": "type", "drag": "left_click_drag",
    "open_url": "navigate", "visit_url": "navigate", "goto": "navigate",
}
ACTION_NAMES: frozenset[str] = frozenset(_HANDLERS) | frozenset(_ALIASES)
"""Every ``action`` value :func:`call_to_actions` understands."""


def normalize_action_name(value: Any) -> str:
    """``"Left Click"`` / ``"left-click"`` -> ``"left_click"``; aliases resolved."""
    name = re.sub(r"[\s-]+", "_", str(value).strip().lower())
    return _ALIASES.get(name, name)


def call_to_actions(
    call: Mapping[str, Any], frame: CoordinateFrame, pointer: Point | None = None
) -> list[Action]:
    """Unified actions (screenshot pixels) for one tool call (model pixels).

    ``pointer`` is the last known pointer position in screenshot pixels; it is
    where ``computer_use`` clicks without a coordinate act and where
    ``left_click_drag`` starts. Raises :class:`ParseError` with a message meant
    for the model.
    """
    args = _arguments(call)
    action = args.get("action")
    if action is None:
        raise ParseError("the arguments need an `action`")
    name = normalize_action_name(action)
    handler = _HANDLERS.get(name)
    if handler is None:
        raise ParseError(
            f"unknown action {brief(action)}; use one of: {', '.join(sorted(_HANDLERS))}"
        )
    try:
        return [handler(_Args({**args, "action": name}, frame, pointer))]
    except ParseError:
        raise
    except ValueError as exc:  # pydantic's ValidationError and key-name errors
        raise ParseError(f"invalid `{name}` call: {explain(exc)}") from None


def _arguments(call: Mapping[str, Any]) -> Mapping[str, Any]:
    if not isinstance(call, Mapping):
        raise ParseError("a tool call must be a JSON object with `name` and `arguments`")
    name = call.get("name")
    if name not in TOOL_NAMES:
        raise ParseError(f"unknown function {brief(name)}; call one of: {', '.join(TOOL_NAMES)}")
    args = call.get("arguments")
    if isinstance(args, str):
        try:
            args = loads_object(args)
        except ValueError:
            raise ParseError("`arguments` is not a JSON object") from None
    if not isinstance(args, Mapping):
        raise ParseError("`arguments` must be a JSON object such as {\"action\": ...}")
    return args


def explain(exc: ValueError) -> str:
    """A validation error (pydantic's, or a key name's) in one line, for a message to the model."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        return "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'value'}: {e['msg']}" for e in errors()
        )
    return str(exc)


def pointer_after(action: Action, pointer: Point | None) -> Point | None:
    """Where the pointer is after ``action`` (so a later drag knows its start)."""
    if isinstance(action, Drag):
        return action.to_x, action.to_y
    return action.point or pointer


def action_to_call(action: Action, frame: CoordinateFrame, tool_name: str) -> dict[str, Any]:
    """The tool call (model pixels) that :func:`call_to_actions` maps back to ``action``.

    Trained spellings are preferred; actions without one use the extensions in
    the module table (e.g. ``left_click_drag`` with ``start_coordinate``). A
    scroll on both axes has no single call and raises ``ValueError``.
    """
    tool = get_tool(tool_name)
    mobile = tool.name == "mobile_use"

    def at(x: int, y: int) -> list[int]:
        return list(frame.to_model(x, y))

    args: dict[str, Any]
    if isinstance(action, Click):
        names = {("left", 1): "click" if mobile else "left_click", ("left", 2): "double_click",
                 ("left", 3): "triple_click", ("right", 1): "right_click",
                 ("middle", 1): "middle_click"}
        name = names.get((action.button, action.count))
        if name is None:
            raise UsageError(f"no tool call clicks {action.button} {action.count} times")
        args = {"action": name, "coordinate": at(action.x, action.y)}
    elif isinstance(action, LongPress):
        args = {"action": "long_press", "coordinate": at(action.x, action.y),
                "time": action.duration}
    elif isinstance(action, Move):
        args = {"action": "mouse_move", "coordinate": at(action.x, action.y)}
    elif isinstance(action, Drag):
        start, end = at(action.x, action.y), at(action.to_x, action.to_y)
        args = ({"action": "swipe", "coordinate": start, "coordinate2": end} if mobile else
                {"action": "left_click_drag", "start_coordinate": start, "coordinate": end})
        if action.duration != _DRAG_DURATION:
            args["time"] = action.duration
    elif isinstance(action, Scroll):
        if action.dx and action.dy:
            raise UsageError("a scroll on both axes has no single call; split it in two")
        args = ({"action": "scroll", "pixels": -action.dy} if action.dy else
                {"action": "hscroll", "pixels": action.dx})
        if action.x is not None and action.y is not None:
            args["coordinate"] = at(action.x, action.y)
    elif isinstance(action, TypeText):
        args = {"action": "type", "text": action.text}
    elif isinstance(action, Key):
        args = ({"action": "key", "text": "+".join(action.keys)} if mobile else
                {"action": "key", "keys": list(action.keys)})
    elif isinstance(action, SystemButton):
        args = {"action": "system_button", "button": action.button.capitalize()}
    elif isinstance(action, OpenApp):
        args = {"action": "open_app" if _URL.match(action.name) else "open", "text": action.name}
    elif isinstance(action, Navigate):
        args = {"action": "navigate", "url": action.url}
    elif isinstance(action, Wait):
        args = {"action": "wait", "time": action.seconds}
    elif isinstance(action, Answer):
        args = {"action": "answer", "text": action.text}
    elif isinstance(action, Terminate):
        args = {"action": "terminate", "status": action.status}
    else:
        raise UsageError(f"not a unified action: {action!r}")
    return {"name": tool.name, "arguments": args}

