"""The Qwen2.5-VL tool vocabularies (``computer_use``, ``mobile_use``) and their prompt.

Qwen2.5-VL was trained with two function schemas, published in the Qwen2.5-VL
cookbooks (``cookbooks/utils/agent_function_call.py``) and rendered into the
system message by Qwen-Agent's ``NousFnCallPrompt``. Grounding accuracy depends
on seeing the same text, so both schemas are generated from the single table
below and reproduce the trained JSON byte for byte (key order included).

The table also lists *extension* actions (``answer``, ``triple_click``,
``hscroll``, ``navigate``, ``open``) that the model was not trained on. They are
only advertised when a caller asks for them (``extensions=``); the parser
accepts them either way, because fine-tuned Qwen models emit them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

from qwen_gui_agent.actions.coordinates import CoordinateFrame
from qwen_gui_agent.errors import UsageError

ToolName = Literal["computer_use", "mobile_use"]
TOOL_NAMES: tuple[str, ...] = ("computer_use", "mobile_use")


@dataclass(frozen=True)
class Param:
    """One argument of a tool; its description ends with the actions that require it."""

    name: str
    type: str
    about: str = ""
    enum: tuple[str, ...] = ()
    enum_first: bool = False
    """Key order in the trained JSON: ``enum`` before ``type`` (``button``) or after (``status``)."""
    closing: str = "."
    """The trained ``button`` description has no final period; keep it that way."""
    note_required: bool = True
    """Whether the description ends with the actions that require it (Qwen3-VL's
    ``computer_use`` ``coordinate`` does not)."""


@dataclass(frozen=True)
class ToolAction:
    """One value of the ``action`` argument: its one-line summary and documented arguments."""

    name: str
    summary: str
    params: tuple[str, ...] = ()


@dataclass(frozen=True)
class Tool:
    """A function the model calls: description template, trained actions, extensions, params."""

    name: str
    description: str
    actions: tuple[ToolAction, ...]
    extensions: tuple[ToolAction, ...]
    params: tuple[Param, ...]


_COORDINATE = (
    "(x, y): The x (pixels from the left edge) and y (pixels from the top edge) "
    "coordinates to move the mouse to."
)
_STATUS = Param("status", "string", "The status of the task.", ("success", "failure"))
_TIME = Param("time", "number", "The seconds to wait.")
_URL = Param("url", "string", "The URL to open, including its scheme.")
_WAIT = ToolAction("wait", "Wait specified seconds for the change to happen.", ("time",))
_TERMINATE = ToolAction(
    "terminate", "Terminate the current task and report its completion status.", ("status",)
)
_ANSWER = ToolAction("answer", "Terminate the current task and output the answer.", ("text",))
_NAVIGATE = ToolAction("navigate", "Open the specified URL in the web browser.", ("url",))

COMPUTER_USE = Tool(
    name="computer_use",
    description=(
        "Use a mouse and keyboard to interact with a computer, and take screenshots.\n"
        "* This is an interface to a desktop GUI. You do not have access to a terminal or "
        "applications menu. You must click on desktop icons to start applications.\n"
        "* Some applications may take time to start or process actions, so you may need to "
        "wait and take successive screenshots to see the results of your actions. E.g. if you "
        "click on Firefox and a window doesn't open, try wait and taking another screenshot.\n"
        "* The screen's resolution is {width}x{height}.\n"
        "* Whenever you intend to move the cursor to click on an element like an icon, you "
        "should consult a screenshot to determine the coordinates of the element before "
        "moving the cursor.\n"
        "* If you tried clicking on a program or link but it failed to load, even after "
        "waiting, try adjusting your cursor position so that the tip of the cursor visually "
        "falls on the element that you want to click.\n"
        "* Make sure to click any buttons, links, icons, etc with the cursor tip in the center "
        "of the element. Don't click boxes on their edges unless asked."
    ),
    actions=(
        ToolAction(
            "key",
            "Performs key down presses on the arguments passed in order, then performs key "
            "releases in reverse order.",
            ("keys",),
        ),
        ToolAction("type", "Type a string of text on the keyboard.", ("text",)),
        ToolAction(
            "mouse_move",
            "Move the cursor to a specified (x, y) pixel coordinate on the screen.",
            ("coordinate",),
        ),
        ToolAction("left_click", "Click the left mouse button."),
        ToolAction(
            "left_click_drag",
            "Click and drag the cursor to a specified (x, y) pixel coordinate on the screen.",
            ("coordinate",),
        ),
        ToolAction("right_click", "Click the right mouse button."),
        ToolAction("middle_click", "Click the middle mouse button."),
        ToolAction("double_click", "Double-click the left mouse button."),
        ToolAction("scroll", "Performs a scroll of the mouse scroll wheel.", ("pixels",)),
        _WAIT,
        _TERMINATE,
    ),
    extensions=(
        ToolAction("triple_click", "Triple-click the left mouse button."),
        ToolAction(
            "hscroll",
            "Performs a horizontal scroll of the mouse scroll wheel; positive `pixels` "
            "scroll right, negative scroll left.",
            ("pixels",),
        ),
        ToolAction("open", "Open an application by its name.", ("text",)),
        _NAVIGATE,
        _ANSWER,
    ),
    params=(
        Param("keys", "array"),
        Param("text", "string"),
        Param("coordinate", "array", _COORDINATE),
        Param(
            "pixels", "number",
            "The amount of scrolling to perform. Positive values scroll up, negative values "
            "scroll down.",
        ),
        _TIME,
        _STATUS,
        _URL,
    ),
)

MOBILE_USE = Tool(
    name="mobile_use",
    description=(
        "Use a touchscreen to interact with a mobile device, and take screenshots.\n"
        "* This is an interface to a mobile device with touchscreen. You can perform actions "
        "like clicking, typing, swiping, etc.\n"
        "* Some applications may take time to start or process actions, so you may need to "
        "wait and take successive screenshots to see the results of your actions.\n"
        "* The screen's resolution is {width}x{height}.\n"
        "* Make sure to click any buttons, links, icons, etc with the cursor tip in the center "
        "of the element. Don't click boxes on their edges unless asked."
    ),
    actions=(
        ToolAction(
            "key",
            "Perform a key event on the mobile device.\n"
            "    - This supports adb's `keyevent` syntax.\n"
            '    - Examples: "volume_up", "volume_down", "power", "camera", "clear".',
            ("text",),
        ),
        ToolAction(
            "click", "Click the point on the screen with coordinate (x, y).", ("coordinate",)
        ),
        ToolAction(
            "long_press",
            "Press the point on the screen with coordinate (x, y) for specified seconds.",
            ("coordinate", "time"),
        ),
        ToolAction(
            "swipe",
            "Swipe from the starting point with coordinate (x, y) to the end point with "
            "coordinates2 (x2, y2).",
            ("coordinate", "coordinate2"),
        ),
        ToolAction("type", "Input the specified text into the activated input box.", ("text",)),
        ToolAction("system_button", "Press the system button.", ("button",)),
        ToolAction("open", "Open an app on the device.", ("text",)),
        _WAIT,
        _TERMINATE,
    ),
    extensions=(_NAVIGATE, _ANSWER),
    params=(
        Param("coordinate", "array", _COORDINATE),
        Param("coordinate2", "array", _COORDINATE),
        Param("text", "string"),
        _TIME,
        Param(
            "button", "string",
            "Back means returning to the previous interface, Home means returning to the "
            "desktop, Menu means opening the application background menu, and Enter means "
            "pressing the enter.",
            ("Back", "Home", "Menu", "Enter"),
            enum_first=True,
            closing="",
        ),
        _STATUS,
        _URL,
    ),
)

TOOLS: dict[str, Tool] = {tool.name: tool for tool in (COMPUTER_USE, MOBILE_USE)}

_FN_CALL_TEMPLATE = """# Tools

You may call one or more functions to assist with the user query.

You are provided with function signatures within <tools></tools> XML tags:
<tools>
{tool_descs}
</tools>

For each function call, return a json object with function name and arguments within \
<tool_call></tool_call> XML tags:
<tool_call>
{{"name": <function-name>, "arguments": <args-json-object>}}
</tool_call>"""
"""Qwen-Agent's ``NousFnCallPrompt`` template, which Qwen2.5-VL's agent data used."""

DEFAULT_SYSTEM = "You are a helpful assistant."


def tool_name_for(env_kind: str) -> ToolName:
    """The function the model was trained to call for an env kind (desktop/browser/android)."""
    if env_kind in ("desktop", "browser"):
        return "computer_use"
    if env_kind == "android":
        return "mobile_use"
    raise UsageError(f"unknown env kind {env_kind!r}; expected desktop, browser or android")


def get_tool(tool_name: str) -> Tool:
    """The table entry of a tool, or ``ValueError`` naming the known tools."""
    try:
        return TOOLS[tool_name]
    except KeyError:
        raise UsageError(
            f"unknown tool {tool_name!r}; expected one of {', '.join(TOOL_NAMES)}"
        ) from None


def tool_schema(
    tool_name: str, frame: CoordinateFrame, *, extensions: Iterable[str] = ()
) -> dict[str, Any]:
    """The ``{"type": "function", "function": {...}}`` schema of a tool for this frame.

    The description states the *model* image size (``frame.model_size``),
    because that is the pixel space the model answers in.
    ``extensions`` names extension actions (e.g. ``"answer"``) to advertise too.
    """
    tool = get_tool(tool_name)
    actions = tool.actions + _pick_extensions(tool, extensions)
    return function_schema(tool, actions, frame.model_size)


def function_schema(
    tool: Tool,
    actions: tuple[ToolAction, ...],
    size: tuple[int, int],
    *,
    qwen_agent_fields: bool = True,
) -> dict[str, Any]:
    """The schema of ``tool`` offering ``actions``, its description stating ``size`` (w, h).

    ``qwen_agent_fields`` adds ``name_for_human`` and ``args_format``, which the
    Qwen-Agent version behind Qwen2.5-VL's data wrote and the one behind Qwen3-VL's does not.
    """
    function: dict[str, Any] = {"name_for_human": tool.name} if qwen_agent_fields else {}
    function["name"] = tool.name
    function["description"] = tool.description.format(width=size[0], height=size[1])
    function["parameters"] = {
        "properties": _properties(tool, actions),
        "required": ["action"],
        "type": "object",
    }
    if qwen_agent_fields:
        function["args_format"] = "Format the arguments as a JSON object."
    return {"type": "function", "function": function}


def tools_section(schema: dict[str, Any]) -> str:
    """The ``# Tools`` text that offers one function schema (Qwen-Agent's ``NousFnCallPrompt``)."""
    return _FN_CALL_TEMPLATE.format(tool_descs=json.dumps(schema, ensure_ascii=False))


def system_prompt(
    tool_name: str, frame: CoordinateFrame, *, extensions: Iterable[str] = ()
) -> str:
    """The full system message: the default system text plus the ``# Tools`` section."""
    schema = tool_schema(tool_name, frame, extensions=extensions)
    return DEFAULT_SYSTEM + "\n\n" + tools_section(schema)


def _pick_extensions(tool: Tool, names: Iterable[str]) -> tuple[ToolAction, ...]:
    """The named extensions in table order, so the prompt does not depend on the caller's order."""
    wanted = set(names)
    unknown = wanted - {action.name for action in tool.extensions}
    if unknown:
        raise UsageError(
            f"{tool.name} has no extension action {', '.join(map(repr, sorted(unknown)))}; "
            f"available: {', '.join(action.name for action in tool.extensions)}"
        )
    return tuple(action for action in tool.extensions if action.name in wanted)


def _properties(tool: Tool, actions: tuple[ToolAction, ...]) -> dict[str, Any]:
    action_param = {
        "description": "The action to perform. The available actions are:\n"
        + "\n".join(f"* `{a.name}`: {a.summary}" for a in actions),
        "enum": [a.name for a in actions],
        "type": "string",
    }
    properties: dict[str, Any] = {"action": action_param}
    for param in tool.params:
        users = [a.name for a in actions if param.name in a.params]
        if users:
            properties[param.name] = _param_schema(param, users)
    return properties


def _param_schema(param: Param, users: list[str]) -> dict[str, Any]:
    required = f"Required only by {_join(['`action=' + u + '`' for u in users])}{param.closing}"
    about = f"{param.about} {required}".lstrip() if param.note_required else param.about
    schema: dict[str, Any] = {"description": about}
    if param.enum and param.enum_first:
        schema["enum"] = list(param.enum)
    schema["type"] = param.type
    if param.enum and not param.enum_first:
        schema["enum"] = list(param.enum)
    return schema


def _join(items: list[str]) -> str:
    """English list as in the trained text: ``a``, ``a and b``, ``a, b, and c``."""
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + ", and " + items[-1]
