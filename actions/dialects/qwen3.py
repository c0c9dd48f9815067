"""Qwen3-VL: the same ``<tool_call>`` JSON as Qwen2.5-VL, on a relative 0..999 grid.

Sources (QwenLM/Qwen3-VL): ``cookbooks/mobile_agent.ipynb`` (its system prompt,
verbatim: the ``mobile_use`` schema stating "The screen's resolution is
999x999", then a "# Response format" section asking for ``Thought:``,
``Action:`` and one ``<tool_call>``; history as ``Step k: {action}; `` lines),
``cookbooks/utils/agent_function_call.py`` (the ``computer_use`` schema the
computer-use cookbook sends with "1000x1000"), and the processor config of the
Qwen3-VL checkpoints: patch 16 x merge 2 = factor 32, ``size`` =
``{"shortest_edge": 65536, "longest_edge": 16777216}`` (min / max pixels).

Choices where the sources differ, so one runtime speaks one dialect: the
desktop prompt also gets the mobile cookbook's response-format section (the
computer-use cookbook only grounds single clicks), and both env kinds use its
user-turn layout. Points map as ``x / 1000 * width``
(:class:`~qwen_gui_agent.actions.coordinates.RelativeFrame`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from qwen_gui_agent.actions.coordinates import GRID, CoordinateFrame, Point, RelativeFrame
from qwen_gui_agent.actions.dialects.toolcall import PROGRESS_PREFIX, ToolCallDialect, steps_text
from qwen_gui_agent.actions.frame import Frame, ImageBounds
from qwen_gui_agent.actions.models import Action
from qwen_gui_agent.actions.observation import EnvKind
from qwen_gui_agent.actions.parser import Response
from qwen_gui_agent.actions.tools import (
    COMPUTER_USE,
    DEFAULT_SYSTEM,
    MOBILE_USE,
    Param,
    Tool,
    ToolAction,
    function_schema,
    tool_name_for,
    tools_section,
)
from qwen_gui_agent.errors import ParseError

QWEN3_BOUNDS = ImageBounds(min_pixels=65536, max_pixels=16777216, factor=32)
"""The Qwen3-VL processor's ``shortest_edge`` / ``longest_edge`` pixels and patch 16 x merge 2."""

_AT = "at a specified (x, y) pixel coordinate on the screen"
_COMPUTER_25 = {action.name: action for action in COMPUTER_USE.actions}
_PARAMS_25 = {param.name: param for param in COMPUTER_USE.params}

COMPUTER = Tool(
    name="computer_use",
    description=COMPUTER_USE.description.removesuffix(" unless asked.") + ".",
    actions=(
        *(_COMPUTER_25[name] for name in ("key", "type", "mouse_move")),
        ToolAction("left_click", f"Click the left mouse button {_AT}.", ("coordinate",)),
        _COMPUTER_25["left_click_drag"],
        ToolAction("right_click", f"Click the right mouse button {_AT}.", ("coordinate",)),
        ToolAction("middle_click", f"Click the middle mouse button {_AT}.", ("coordinate",)),
        ToolAction("double_click", f"Double-click the left mouse button {_AT}.", ("coordinate",)),
        ToolAction(
            "triple_click",
            f"Triple-click the left mouse button {_AT} (simulated as double-click since it's "
            "the closest action).",
            ("coordinate",),
        ),
        _COMPUTER_25["scroll"],
        ToolAction("hscroll", "Performs a horizontal scroll (mapped to regular scroll).",
                   ("pixels",)),
        _COMPUTER_25["wait"],
        _COMPUTER_25["terminate"],
        ToolAction("answer", "Answer a question.", ("text",)),
    ),
    extensions=(),
    params=(
        _PARAMS_25["keys"],
        _PARAMS_25["text"],
        Param("coordinate", "array", _PARAMS_25["coordinate"].about, note_required=False),
        _PARAMS_25["pixels"],
        _PARAMS_25["time"],
        _PARAMS_25["status"],
    ),
)
"""``agent_function_call.py``'s ``ComputerUse``: clicks take a coordinate, answer is trained."""

_MOBILE_25 = {action.name: action for action in MOBILE_USE.actions}
MOBILE = Tool(
    name="mobile_use",
    description=MOBILE_USE.description,
    actions=(
        *(_MOBILE_25[name] for name in ("click", "long_press", "swipe", "type")),
        ToolAction("answer", "Output the answer.", ("text",)),
        *(_MOBILE_25[name] for name in ("system_button", "wait", "terminate")),
    ),
    extensions=(),
    params=MOBILE_USE.params,
)
"""The mobile cookbook's ``mobile_use``: no ``key`` / ``open``, an ``answer``."""

_STATED_SIZE = {"computer_use": (GRID, GRID), "mobile_use": (GRID - 1, GRID - 1)}
"""The resolution each official prompt states (the grid is 0..999 either way)."""

RESPONSE_FORMAT = """

# Response format

Response format for every step:
1) Thought: one concise sentence explaining the next move (no multi-step reasoning).
2) Action: a short imperative describing what to do in the UI.
3) A single <tool_call>...</tool_call> block containing only the JSON: \
{"name": <function-name>, "arguments": <args-json-object>}.

Rules:
- Output exactly in the order: Thought, Action, <tool_call>.
- Be brief: one sentence for Thought, one for Action.
- Do not output anything else outside those three parts.
- If finishing, use action=terminate in the tool call."""

_GRID_NOTE = (
    " Coordinates are relative, not pixels: x and y each run from 0 (left / top edge) to "
    "999 (right / bottom edge), whatever the screenshot's size. (Runtime note: Qwen2.5-VL "
    "and UI-TARS write absolute pixels; if the model is one of them, run it with its --family.)"
)
_ACTION_LINE = re.compile(r"^[ \t]*Action[ \t]*[:：](.*)$", re.MULTILINE)
"""The ``Action:`` line of an output: the step's own one-line summary, used as its history."""


class Qwen3Dialect(ToolCallDialect):
    """``<tool_call>`` JSON on the 0..999 grid; images resized with factor 32."""

    name = "qwen3-vl"
    bounds = QWEN3_BOUNDS

    def coordinates(self, image: Frame) -> CoordinateFrame:
        return RelativeFrame(image)

    def parse(
        self, text: str, frame: CoordinateFrame, env_kind: EnvKind, *, pointer: Point | None = None
    ) -> Response:
        try:
            return super().parse(text, frame, env_kind, pointer=pointer)
        except ParseError as exc:
            if "is outside the screen" not in str(exc):
                raise
            raise ParseError(str(exc).rstrip(".") + "." + _GRID_NOTE, text) from None

    def system_prompt(self, frame: CoordinateFrame, env_kind: EnvKind, *,
                      extensions: Iterable[str] = ()) -> str:
        """The official schema for the env kind, stating the grid, then the response format."""
        self.check_extensions(extensions)
        tool = COMPUTER if tool_name_for(env_kind) == "computer_use" else MOBILE
        schema = function_schema(tool, tool.actions, _STATED_SIZE[tool.name],
                                 qwen_agent_fields=False)
        system = "" if tool is MOBILE else DEFAULT_SYSTEM  # as each cookbook sends it
        return f"{system}\n\n{tools_section(schema)}{RESPONSE_FORMAT}"

    def user_prompt(self, task: str, env_kind: EnvKind, steps: Sequence[str] = ()) -> str:
        """The mobile cookbook's ``The user query: {task}.`` and ``Task progress (...): ...``."""
        return f"The user query: {task}.\n{PROGRESS_PREFIX}{steps_text(steps)}.\n"

    def describe_step(
        self, actions: Sequence[Action], frame: CoordinateFrame, env_kind: EnvKind, raw: str = ""
    ) -> str:
        """The output's own ``Action:`` summary (quotes dropped, as the cookbook does), or
        the calls."""
        line = _ACTION_LINE.search(raw)
        summary = line.group(1).replace('"', "").strip() if line else ""
        return summary or super().describe_step(actions, frame, env_kind)
