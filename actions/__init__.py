"""The unified action space, coordinate frames and the Qwen tool-call parser.

Nothing here imports torch or any env backend.
"""

from qwen_gui_agent.actions.frame import Frame, CoordinateError, smart_resize
from qwen_gui_agent.actions.models import (
    Action, Answer, Click, Drag, Key, LongPress, Move, Navigate, OpenApp,
    Scroll, SystemButton, Terminate, TypeText, Wait, action_to_dict, parse_action,
)

__all__ = [
    "Action", "Answer", "Click", "CoordinateError", "Drag", "Frame", "Key",
    "LongPress", "Move", "Navigate", "OpenApp", "Scroll", "SystemButton",
    "Terminate", "TypeText", "Wait", "action_to_dict", "parse_action", "smart_resize",
]
