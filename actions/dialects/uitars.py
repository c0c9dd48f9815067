"""UI-TARS-1.5: text calls (``Action: click(start_box='(x,y)')``) in pixels of the resized image.

Sources (bytedance/UI-TARS): ``codes/prompts.py`` of the 1.5 release (the
``COMPUTER_USE`` / ``MOBILE_USE`` prompts below, verbatim), ``codes/ui_tars/action_parser.py``
(``parse_action_to_structure_output``: ``point=`` means ``start_box=``, ``<point>x y</point>``
means ``(x,y)``, several calls split at blank lines; ``smart_resize`` factor 28,
``min_pixels = 100*28*28``, ``max_pixels = 16384*28*28``), ``README_coordinates.md``
(UI-TARS-1.5 answers in absolute pixels of that resized image; UI-TARS 1.0 used a
0-1000 grid) and ``README_deploy.md`` (history: earlier replies go back as
assistant turns, ``(x,y)`` re-wrapped in ``<|box_start|>``/``<|box_end|>``).
bytedance/UI-TARS-desktop's ``action-parser`` tests add the spellings real
outputs use: ``<bbox>x1 y1 x2 y2</bbox>``, ``[x1, y1, x2, y2]``, ``Action：``.

=====================================  ==========================================
UI-TARS call                           unified action
=====================================  ==========================================
``click``, ``left_single``             ``Click``
``left_double`` / ``right_single``     ``Click`` count 2 / right button
``hover``                              ``Move``
``drag(start_box, end_box)``           ``Drag``; ``select`` too (a ``Click`` if no ``end_box``)
``long_press(start_box, time?)``       ``LongPress`` (1 s unless ``time``)
``scroll(start_box?, direction)``      ``Scroll`` 500 px that way (at ``start_box`` if given);
                                       with ``end_box`` (UI-TARS 1.0 mobile) a ``Drag``
``type(content)``                      ``TypeText`` (a final ``\\n`` is Enter); with a
                                       ``start_box``, a ``Click`` there first
``hotkey(key='ctrl c')``, ``press``    ``Key`` (keys split at spaces)
``wait()``                             ``Wait`` 5 s ("Sleep for 5s")
``finished(content?)``                 ``Answer`` with the content, else ``Terminate`` success
``call_user()``                        ``Terminate`` failure (the task needs the user)
``open_app(app_name)``                 ``OpenApp``
``press_home()`` / ``press_back()``    ``SystemButton`` home / back
=====================================  ==========================================

Rendering writes the trained spellings back (``start_box='<|box_start|>(x,y)<|box_end|>'``,
as the official training data does); actions UI-TARS has no call for (a
middle or triple click, a URL, a scroll on both axes, the menu button) raise ``UsageError``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from qwen_gui_agent.actions.coordinates import CoordinateFrame, Point
from qwen_gui_agent.actions.dialects.base import Dialect
from qwen_gui_agent.actions.dialects.uitars_syntax import Call, read_reply
from qwen_gui_agent.actions.frame import ImageBounds
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
from qwen_gui_agent.actions.observation import EnvKind
from qwen_gui_agent.actions.parser import Response
from qwen_gui_agent.actions.tools import DEFAULT_SYSTEM, tool_name_for
from qwen_gui_agent.actions.translate import coordinate_pair, explain, number, screen_point
from qwen_gui_agent.errors import ParseError, UsageError, brief

UI_TARS_BOUNDS = ImageBounds(min_pixels=100 * 28 * 28, max_pixels=16384 * 28 * 28, factor=28)
SCROLL_PIXELS = 500
"""How far one ``scroll(direction=...)`` goes: UI-TARS names a direction, never a distance."""
WAIT_SECONDS = 5.0
LONG_PRESS_SECONDS: float = LongPress.model_fields["duration"].default

COMPUTER_USE = """You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform the next action to complete the task.

## Output Format
```
Thought: ...
Action: ...
```

## Action Space

click(start_box='<|box_start|>(x1,y1)<|box_end|>')
left_double(start_box='<|box_start|>(x1,y1)<|box_end|>')
right_single(start_box='<|box_start|>(x1,y1)<|box_end|>')
drag(start_box='<|box_start|>(x1,y1)<|box_end|>', end_box='<|box_start|>(x3,y3)<|box_end|>')
hotkey(key='')
type(content='xxx') # Use escape characters \\', \\\", and \\n in content part to ensure we can parse the content in normal python string format. If you want to submit your input, use \\n at the end of content. 
scroll(start_box='<|box_start|>(x1,y1)<|box_end|>', direction='down or up or right or left')
wait() #Sleep for 5s and take a screenshot to check for any changes.
finished(content='xxx') # Use escape characters \\', \\", and \\n in content part to ensure we can parse the content in normal python string format.


## Note
- Use {language} in `Thought` part.
- Write a small plan and finally summarize your next action (with its target element) in one sentence in `Thought` part.

## User Instruction
{instruction}
"""  # noqa: E501 (verbatim: bytedance/UI-TARS codes/prompts.py, 1.5 release)

MOBILE_USE = """You are a GUI agent. You are given a task and your action history, with screenshots. You need to perform the next action to complete the task. 
## Output Format
```
Thought: ...
Action: ...
```
## Action Space

click(start_box='<|box_start|>(x1,y1)<|box_end|>')
long_press(start_box='<|box_start|>(x1,y1)<|box_end|>')
type(content='') #If you want to submit your input, use "\\n" at the end of `content`.
scroll(start_box='<|box_start|>(x1,y1)<|box_end|>', direction='down or up or right or left')
open_app(app_name=\'\')
drag(start_box='<|box_start|>(x1,y1)<|box_end|>', end_box='<|box_start|>(x3,y3)<|box_end|>')
press_home()
press_back()
finished(content='xxx') # Use escape characters \\', \\", and \\n in content part to ensure we can parse the content in normal python string format.


## Note
- Use {language} in `Thought` part.
- Write a small plan and finally summarize your next action (with its target element) in one sentence in `Thought` part.

## User Instruction
{instruction}
"""  # noqa: E501 (verbatim, as above)

_ALIASES = {"point": "start_box", "start_point": "start_box", "end_point": "end_box",
            "text": "content"}
"""``point=`` / ``start_point=`` / ``end_point=`` are the newer spellings of the boxes
(the official parser rewrites them the same way); ``type(text=...)`` appears in the wild."""
_POINT_TAG = re.compile(r"</?(?:point|bbox)>")
"""``<point>x y</point>``, ``<bbox>x1 y1 x2 y2</bbox>``: the numbers are the point or box."""
_JOINED_POINTS = re.compile(r"\)[ \t]*\(")
"""``(x1,y1)(x2,y2)``, as UI-TARS sometimes writes a box: four numbers."""
_BOX = re.compile(r"(start_box|end_box)=(['\"])\(([0-9., \t]*)\)\2")
_LABELS = ("Thought:", "Reflection:", "Action_Summary:")
_DIRECTIONS = {"down": ("dy", 1), "up": ("dy", -1), "right": ("dx", 1), "left": ("dx", -1)}


@dataclass(frozen=True)
class _Context:
    """One call being translated, with the frame its points are in."""

    call: Call
    frame: CoordinateFrame

    def text(self, key: str, *, required: bool = True) -> str:
        value = self.call.args.get(key, "")
        if required and not value:
            raise ParseError(f"`{self.call.name}` needs {key}='...'.")
        return value

    def point(self, key: str) -> Point:
        raw = self.text(key).strip()
        try:
            x, y = coordinate_pair(_JOINED_POINTS.sub(",", _POINT_TAG.sub("", raw)), key)
        except ParseError:
            raise ParseError(
                f"`{key}` of `{self.call.name}` must be a point such as '(x1,y1)', "
                f"got {brief(raw)}."
            ) from None
        return screen_point(self.frame, x, y, f"`{key}` {brief(raw)} of `{self.call.name}`")

    def optional_point(self, key: str) -> Point | None:
        return self.point(key) if self.text(key, required=False).strip() else None


def _click(button: str = "left", count: int = 1) -> Callable[[_Context], list[Action]]:
    def build(c: _Context) -> list[Action]:
        x, y = c.point("start_box")
        return [Click(x=x, y=y, button=button, count=count)]
    return build


def _hover(c: _Context) -> list[Action]:
    x, y = c.point("start_box")
    return [Move(x=x, y=y)]


def _drag(c: _Context) -> list[Action]:
    (x, y), (to_x, to_y) = c.point("start_box"), c.point("end_box")
    return [Drag(x=x, y=y, to_x=to_x, to_y=to_y)]


def _select(c: _Context) -> list[Action]:
    return _drag(c) if c.text("end_box", required=False) else _click()(c)


def _scroll(c: _Context) -> list[Action]:
    if c.text("end_box", required=False):
        return _drag(c)
    direction = c.text("direction").strip().lower()
    if direction not in _DIRECTIONS:
        raise ParseError(f"`scroll` needs direction='down', 'up', 'left' or 'right', got "
                         f"{brief(direction)}.")
    axis, sign = _DIRECTIONS[direction]
    x, y = c.optional_point("start_box") or (None, None)
    return [Scroll(x=x, y=y, **{axis: sign * SCROLL_PIXELS})]


def _type(c: _Context) -> list[Action]:
    target = c.optional_point("start_box")
    typed: list[Action] = [TypeText(text=c.text("content"))]
    return typed if target is None else [Click(x=target[0], y=target[1]), *typed]


def _keys(c: _Context) -> list[Action]:
    return [Key(keys=[key for part in c.text("key").split() for key in split_combo(part)])]


def _long_press(c: _Context) -> list[Action]:
    x, y = c.point("start_box")
    time = c.text("time", required=False).strip()
    return [LongPress(x=x, y=y, duration=number(time, "`time`") if time else LONG_PRESS_SECONDS)]


def _finished(c: _Context) -> list[Action]:
    content = c.text("content", required=False)
    return [Answer(text=content) if content else Terminate(status="success")]


def _no_key_holding(c: _Context) -> list[Action]:
    raise ParseError(f"`{c.call.name}` is not supported here; press keys together with "
                     "hotkey(key='ctrl c').")


_CALLS: dict[str, tuple[tuple[str, ...], Callable[[_Context], list[Action]]]] = {
    "click": (("start_box",), _click()),
    "left_single": (("start_box",), _click()),
    "left_double": (("start_box",), _click(count=2)),
    "right_single": (("start_box",), _click("right")),
    "hover": (("start_box",), _hover),
    "drag": (("start_box", "end_box"), _drag),
    "select": (("start_box", "end_box"), _select),
    "long_press": (("start_box", "time"), _long_press),
    "scroll": (("start_box", "end_box", "direction"), _scroll),
    "type": (("content", "start_box"), _type),
    "hotkey": (("key",), _keys),
    "press": (("key",), _keys),
    "keydown": (("key",), _no_key_holding),
    "keyup": (("key",), _no_key_holding),
    "release": (("key",), _no_key_holding),
    "wait": ((), lambda c: [Wait(seconds=WAIT_SECONDS)]),
    "finished": (("content",), _finished),
    "call_user": ((), lambda c: [Terminate(status="failure")]),
    "open_app": (("app_name",), lambda c: [OpenApp(name=c.text("app_name").strip())]),
    "press_home": ((), lambda c: [SystemButton(button="home")]),
    "press_back": ((), lambda c: [SystemButton(button="back")]),
}
"""Every call UI-TARS writes: the arguments it takes, and its unified actions."""


class UiTarsDialect(Dialect):
    """UI-TARS-1.5's text calls, in pixels of the image resized with factor 28.

    ``language`` fills the prompt's "Use {language} in `Thought` part."
    """

    name = "ui-tars"
    bounds = UI_TARS_BOUNDS
    syntax = "ui-tars"
    history_as_turns = True

    def __init__(self, language: str = "English") -> None:
        self.language = language

    def parse(
        self, text: str, frame: CoordinateFrame, env_kind: EnvKind, *, pointer: Point | None = None
    ) -> Response:
        """Every call is explicit about where it acts, so ``pointer`` is not needed."""
        if not isinstance(text, str):
            raise UsageError(f"model output must be str, got {type(text).__name__}")
        try:
            reply = read_reply(text)
            actions = [a for call in reply.calls for a in _translate(call, frame)]
        except ParseError as exc:
            raise self.mismatch(ParseError(str(exc), text), text) from None
        return Response(actions=actions, thought=reply.thought,
                        calls=[call.as_dict() for call in reply.calls])

    def write(
        self, actions: Sequence[Action], frame: CoordinateFrame, env_kind: EnvKind,
        thought: str | None,
    ) -> str:
        """``Thought: ...`` (unless ``thought`` carries its own label) and ``Action: ...``."""
        calls = "\n\n".join(_render(action, frame) for action in actions)
        if not thought:
            return f"Action: {calls}"
        label = "" if thought.startswith(_LABELS) else "Thought: "
        return f"{label}{thought}\nAction: {calls}"

    def system_prompt(self, frame: CoordinateFrame, env_kind: EnvKind, *,
                      extensions: Iterable[str] = ()) -> str:
        """UI-TARS puts its instructions in the user turn; the system turn is the default."""
        self.check_extensions(extensions)
        return DEFAULT_SYSTEM

    def user_prompt(self, task: str, env_kind: EnvKind, steps: Sequence[str] = ()) -> str:
        """The official computer or mobile prompt with the task as its user instruction."""
        if steps:
            raise UsageError("UI-TARS reads earlier steps as assistant turns, not as text lines")
        template = MOBILE_USE if tool_name_for(env_kind) == "mobile_use" else COMPUTER_USE
        return template.format(language=self.language, instruction=task)

    def describe_step(
        self, actions: Sequence[Action], frame: CoordinateFrame, env_kind: EnvKind, raw: str = ""
    ) -> str:
        """The earlier assistant turn: the raw reply with its points re-wrapped in box
        tokens (which decoding drops), or the actions rendered."""
        if raw:
            return _BOX.sub(r"\1=\2<|box_start|>(\3)<|box_end|>\2", raw)
        return self.render(actions, frame, env_kind) if actions else ""


def _translate(call: Call, frame: CoordinateFrame) -> list[Action]:
    entry = _CALLS.get(call.name)
    if entry is None:
        raise ParseError(f"Unknown action `{call.name}`; use one of: {', '.join(_CALLS)}.")
    accepted, build = entry
    args = {_ALIASES.get(key, key): value for key, value in call.args.items()}
    unknown = sorted(set(args) - set(accepted))
    if unknown:
        takes = ", ".join(accepted) or "no arguments"
        raise ParseError(f"`{call.name}` takes {takes}; not {', '.join(unknown)}.")
    try:
        return build(_Context(Call(call.name, args), frame))
    except ParseError:
        raise
    except ValueError as exc:  # pydantic's ValidationError, unknown key names
        raise ParseError(f"invalid `{call.name}` call: {explain(exc)}") from None


def _render(action: Action, frame: CoordinateFrame) -> str:
    def box(x: int, y: int) -> str:
        mx, my = frame.to_model(x, y)
        return f"'<|box_start|>({mx},{my})<|box_end|>'"

    if isinstance(action, Click):
        names = {("left", 1): "click", ("left", 2): "left_double", ("right", 1): "right_single"}
        name = names.get((action.button, action.count))
        if name is None:
            raise UsageError(f"UI-TARS has no call that clicks {action.button} "
                             f"{action.count} times")
        return f"{name}(start_box={box(action.x, action.y)})"
    if isinstance(action, Move):
        return f"hover(start_box={box(action.x, action.y)})"
    if isinstance(action, Drag):
        return (f"drag(start_box={box(action.x, action.y)}, "
                f"end_box={box(action.to_x, action.to_y)})")
    if isinstance(action, LongPress):
        time = "" if action.duration == LONG_PRESS_SECONDS else f", time='{action.duration:g}'"
        return f"long_press(start_box={box(action.x, action.y)}{time})"
    if isinstance(action, Scroll):
        return _render_scroll(action, box)
    if isinstance(action, TypeText):
        return f"type(content={_quote(action.text)})"
    if isinstance(action, Key):
        return f"hotkey(key={_quote(' '.join(action.keys))})"
    if isinstance(action, SystemButton):
        calls = {"home": "press_home()", "back": "press_back()", "enter": "hotkey(key='enter')"}
        if action.button not in calls:
            raise UsageError(f"UI-TARS has no call for the {action.button} button")
        return calls[action.button]
    if isinstance(action, OpenApp):
        return f"open_app(app_name={_quote(action.name)})"
    if isinstance(action, Navigate):
        raise UsageError("UI-TARS has no call that opens a URL")
    if isinstance(action, Wait):
        return "wait()"
    if isinstance(action, Answer):
        return f"finished(content={_quote(action.text)})"
    if isinstance(action, Terminate):
        return "finished()" if action.status == "success" else "call_user()"
    raise UsageError(f"not a unified action: {action!r}")


def _render_scroll(action: Scroll, box: Callable[[int, int], str]) -> str:
    if action.dx and action.dy:
        raise UsageError("a scroll on both axes has no single UI-TARS call; split it in two")
    if action.dy:
        direction = "down" if action.dy > 0 else "up"
    else:
        direction = "right" if action.dx > 0 else "left"
    at = "" if action.x is None or action.y is None else f"start_box={box(action.x, action.y)}, "
    return f"scroll({at}direction='{direction}')"


def _quote(value: str) -> str:
    """``value`` as a single-quoted UI-TARS string, escaped as the prompt asks."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'").replace("\n", "\\n")
    return f"'{escaped}'"
