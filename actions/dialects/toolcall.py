"""The ``<tool_call>`` JSON syntax both Qwen families write, over any coordinate frame.

Parsing is the existing lenient parser (:func:`~qwen_gui_agent.actions.parser.parse_response`)
and rendering the existing translation (:func:`~qwen_gui_agent.actions.translate.action_to_call`);
the families differ only in their frame and prompt, which subclasses supply.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

from qwen_gui_agent.actions.coordinates import CoordinateFrame, Point
from qwen_gui_agent.actions.dialects.base import Dialect
from qwen_gui_agent.actions.models import Action, action_to_dict
from qwen_gui_agent.actions.observation import EnvKind
from qwen_gui_agent.actions.parser import Response, parse_response
from qwen_gui_agent.actions.tools import tool_name_for
from qwen_gui_agent.actions.translate import action_to_call
from qwen_gui_agent.errors import ParseError

PROGRESS_PREFIX = "Task progress (You have done the following operation on the current device): "
"""How the Qwen agent cookbooks introduce the steps done so far."""


class ToolCallDialect(Dialect):
    """A family that writes ``computer_use`` / ``mobile_use`` calls as ``<tool_call>`` JSON."""

    syntax = "qwen"

    def parse(
        self, text: str, frame: CoordinateFrame, env_kind: EnvKind, *, pointer: Point | None = None
    ) -> Response:
        try:
            return parse_response(text, frame, tool_name=tool_name_for(env_kind), pointer=pointer)
        except ParseError as exc:
            raise self.mismatch(exc, text) from None

    def write(
        self, actions: Sequence[Action], frame: CoordinateFrame, env_kind: EnvKind,
        thought: str | None,
    ) -> str:
        """``thought`` verbatim (it carries the family's own labels), then one block per call."""
        tool = tool_name_for(env_kind)
        blocks = [
            f"<tool_call>\n{json.dumps(action_to_call(a, frame, tool), ensure_ascii=False)}"
            "\n</tool_call>"
            for a in actions
        ]
        return "\n".join(([thought] if thought else []) + blocks)

    def describe_step(
        self, actions: Sequence[Action], frame: CoordinateFrame, env_kind: EnvKind, raw: str = ""
    ) -> str:
        """The step's calls as the model would have written them, comma-separated."""
        tool = tool_name_for(env_kind)
        return ", ".join(call_json(action, frame, tool) for action in actions)


def call_json(action: Action, frame: CoordinateFrame, tool: str) -> str:
    """The action as the model's call; one no call expresses stays in the unified form."""
    try:
        call = action_to_call(action, frame, tool)
    except ValueError:  # no call says it (UsageError), or it is off this frame
        call = action_to_dict(action)
    return json.dumps(call, ensure_ascii=False)


def steps_text(steps: Sequence[str]) -> str:
    """``Step 1: ...; Step 2: ...; `` as the cookbooks join past steps."""
    return "".join(f"Step {number}: {step}; " for number, step in enumerate(steps, start=1))
