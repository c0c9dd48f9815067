"""The bottom layer: the unified action space and the vocabulary every layer speaks.

Actions, observations and outcomes, decisions and history, coordinate frames
and image bounds, the Qwen tool-call dialect and the prompt. Nothing here
imports torch or any env backend.
"""

from qwen_gui_agent.actions.decision import Decision, HistoryEntry
from qwen_gui_agent.actions.frame import Frame, ImageBounds, smart_resize
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
    action_to_dict,
    parse_action,
)
from qwen_gui_agent.actions.observation import EnvKind, Observation, Outcome
from qwen_gui_agent.actions.parser import Response, parse_response
from qwen_gui_agent.actions.tools import system_prompt, tool_name_for, tool_schema
from qwen_gui_agent.actions.translate import action_to_call, call_to_actions
from qwen_gui_agent.errors import CoordinateError, ParseError

__all__ = [
    "Action", "Answer", "Click", "CoordinateError", "Decision", "Drag", "EnvKind", "Frame",
    "HistoryEntry", "ImageBounds", "Key", "LongPress", "Move", "Navigate", "Observation",
    "OpenApp", "Outcome", "ParseError", "Response",
    "Scroll", "SystemButton", "Terminate", "TypeText", "Wait", "action_to_call",
    "action_to_dict", "call_to_actions", "parse_action", "parse_response",
    "smart_resize", "system_prompt", "tool_name_for", "tool_schema",
]
