"""Turn raw Qwen2.5-VL output into unified actions.

Lenient where the intent is unambiguous, because real outputs are messy:
prose before or after the call, ``<|im_end|>`` left in, a missing
``</tool_call>``, code fences, several calls (all returned, in order), single
quotes / Python literals / trailing commas, a truncated closing brace,
``arguments`` given as a JSON string, full-width punctuation, a bare
``{"name", "arguments"}`` object or a bare arguments object ``{"action": ...}``
without tags, the action used as the function name with its arguments flat
beside it (``{"name": "click", "point": [x, y]}``, as Qwen2.5-VL-72B writes),
an empty or doubled ``<tool_call>`` tag, and reasoning wrapped in tags such as
``<thinking>`` / ``<conclusion>`` (the text stays in the thought, the tags go). Numbers and
coordinates given as strings are handled by :mod:`translate`. A call to the
other Qwen tool than the one offered is accepted: the two share one vocabulary.

Strict otherwise, raising :class:`ParseError`: empty output, no call at all
(even if the text reads like a final answer: the model must say so with
``terminate`` or ``answer``, or the loop could not tell an answer from a
derailed reply), an unknown function or action, a missing required argument,
a coordinate that is not two numbers or lies outside the image.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from qwen_gui_agent.actions.coordinates import CoordinateFrame
from qwen_gui_agent.actions.jsonish import iter_objects, loads_object
from qwen_gui_agent.actions.models import Action
from qwen_gui_agent.actions.tools import TOOL_NAMES, TOOLS
from qwen_gui_agent.actions.translate import (
    ACTION_NAMES,
    Point,
    call_to_actions,
    normalize_action_name,
    pointer_after,
)
from qwen_gui_agent.errors import ParseError, UsageError

_SPECIAL_TOKEN = re.compile(r"<\|[a-z_]{1,30}\|>")
_OPEN_TAG = re.compile(r"<tool_call>", re.IGNORECASE)
_CLOSE_TAG = re.compile(r"</tool_call>", re.IGNORECASE)
_EMPTY_FENCE = re.compile(r"```[\w-]*\s*```")
_FENCE_MARK = re.compile(r"```[\w-]*")


@dataclass(frozen=True)
class Response:
    """The parsed model output.

    ``actions`` are in screenshot pixels; ``calls`` are the tool calls as the
    model meant them (normalised dicts, model pixels), one per action, for the
    trajectory and for history text; ``thought`` is the text outside the calls.
    """

    actions: list[Action]
    thought: str | None
    calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def action(self) -> Action:
        """The first action (the one a one-action-per-step loop executes)."""
        return self.actions[0]


def parse_response(
    text: str,
    frame: CoordinateFrame,
    *,
    tool_name: str | None = None,
    pointer: Point | None = None,
) -> Response:
    """Parse model output into actions in screenshot pixels (see the module doc).

    ``tool_name`` names the function the prompt offered; it is used when the
    model leaves the name out, and in the example of error messages.
    ``pointer`` is the last pointer position (screenshot pixels) from history;
    ``left_click_drag`` starts there. Raises :class:`ParseError`.
    """
    if tool_name is not None and tool_name not in TOOL_NAMES:
        raise UsageError(f"unknown tool {tool_name!r}; expected one of {', '.join(TOOL_NAMES)}")
    try:
        return _parse(text, frame, tool_name, pointer)
    except ParseError as exc:
        raise ParseError(str(exc), text) from None


def _parse(
    text: str, frame: CoordinateFrame, tool_name: str | None, pointer: Point | None
) -> Response:
    if not isinstance(text, str):
        raise UsageError(f"model output must be str, got {type(text).__name__}")
    cleaned = _SPECIAL_TOKEN.sub("", text)
    if not cleaned.strip():
        raise ParseError("The output was empty. " + _hint(tool_name))
    if _OPEN_TAG.search(cleaned):
        objects, outside = _tagged(cleaned, tool_name)
    else:
        objects, outside = _bare(cleaned)
    if not objects:
        raise ParseError("No tool call found. " + _hint(tool_name))
    calls = [_normalize(obj, tool_name) for obj in objects]
    actions: list[Action] = []
    for call in calls:
        for action in call_to_actions(call, frame, pointer):
            actions.append(action)
            pointer = pointer_after(action, pointer)
    return Response(actions=actions, thought=_thought(outside), calls=calls)


def _tagged(text: str, tool_name: str | None) -> tuple[list[dict[str, Any]], list[str]]:
    """Objects inside ``<tool_call>`` blocks (closing tag optional) and the text around them.

    A block with text but no call fails the whole response: the model meant a call there.
    """
    parts = _OPEN_TAG.split(text)
    outside, objects = [parts[0]], []
    for part in parts[1:]:
        inner, *after = _CLOSE_TAG.split(part, maxsplit=1)
        found = [obj for _, _, obj in iter_objects(inner) if _looks_like_call(obj)]
        if not found and inner.strip():  # an empty block (a doubled tag) says nothing
            raise ParseError(
                "A <tool_call> block holds no JSON object with `name` and `arguments`. "
                + _hint(tool_name)
            )
        objects += found
        outside += after
    return objects, outside


def _bare(text: str) -> tuple[list[dict[str, Any]], list[str]]:
    """Call-like objects anywhere in untagged text (also inside code fences)."""
    objects, outside, last = [], [], 0
    for start, end, obj in iter_objects(text):
        if _looks_like_call(obj):
            objects.append(obj)
            outside.append(text[last:start])
            last = end
    outside.append(text[last:])
    return objects, outside


def _looks_like_call(obj: Mapping[str, Any]) -> bool:
    return (
        "arguments" in obj or "action" in obj or isinstance(obj.get("function"), Mapping)
        or obj.get("name") in TOOL_NAMES
        or (isinstance(obj.get("name"), str) and normalize_action_name(obj["name"]) in ACTION_NAMES)
    )


def _normalize(obj: Mapping[str, Any], tool_name: str | None) -> dict[str, Any]:
    """A clean ``{"name", "arguments"}`` dict from the shapes models actually write."""
    if isinstance(obj.get("function"), Mapping):  # OpenAI style {"type": "function", ...}
        obj = obj["function"]
    name = obj.get("name")
    args = next((obj[k] for k in ("arguments", "parameters", "args") if k in obj), None)
    if args is None:  # flat: {"action": ..., ...} or {"name": "click", "point": [x, y]}
        args = {k: v for k, v in obj.items() if k != "name"}
    if isinstance(args, str):
        try:
            args = loads_object(args)
        except ValueError:
            raise ParseError("`arguments` is not a JSON object.") from None
    if not isinstance(args, Mapping):
        raise ParseError("`arguments` must be a JSON object such as {\"action\": ...}.")
    args = dict(args)
    if name not in TOOL_NAMES and isinstance(name, str) and "action" not in args \
            and normalize_action_name(name) in ACTION_NAMES:
        args = {"action": name, **args}
        name = None
    if name is None:
        name = tool_name or _tool_for(args.get("action"))
    return {"name": name, "arguments": args}


def _tool_for(action: Any) -> str:
    """The tool whose trained vocabulary has this action (computer_use if both or none)."""
    name = normalize_action_name(action)
    for tool in TOOLS.values():
        if any(a.name == name for a in tool.actions):
            return tool.name
    return TOOL_NAMES[0]


_WRAPPER_TAG = re.compile(
    r"</?(?:think|thinking|thought|reasoning|conclusion|summary|answer|action|response)>",
    re.IGNORECASE,
)
"""Tags GUI-agent prompts wrap the reasoning or the call in (``<thinking>``, ``<conclusion>``);
their text is the thought, the markup is not."""
_BLANK_LINES = re.compile(r"\n(?:[ \t]*\n){2,}")
"""Runs of blank lines that removing the calls and tags leaves behind."""
_TRAILING_LABEL = re.compile(r"(?:^|\n)[ \t]*(?:Action|Tool call|Function call)[ \t]*:\Z", re.IGNORECASE)
"""An ``Action:`` label left dangling once the call that followed it is taken out."""


def _thought(outside: list[str]) -> str | None:
    text = _WRAPPER_TAG.sub("", _CLOSE_TAG.sub("", "".join(outside)))
    text = _EMPTY_FENCE.sub("", text)
    text = _FENCE_MARK.sub("", text) if text.count("```") % 2 else text
    text = _TRAILING_LABEL.sub("", _BLANK_LINES.sub("\n\n", text).strip())
    return text.strip() or None


def _hint(tool_name: str | None) -> str:
    name = tool_name or TOOL_NAMES[0]
    action = "click" if name == "mobile_use" else "left_click"
    return (
        "Reply with one function call inside <tool_call></tool_call> tags, for example:\n"
        f'<tool_call>\n{{"name": "{name}", "arguments": {{"action": "{action}", '
        '"coordinate": [x, y]}}\n</tool_call>'
    )
