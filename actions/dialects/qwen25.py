"""Qwen2.5-VL (and GUI-Owl, trained on its format): tool calls in pixels of the resized image.

Sources: the Qwen2.5-VL cookbooks (``computer_use.ipynb``, ``mobile_agent.ipynb``)
and ``cookbooks/utils/agent_function_call.py``; the tool tables and their exact
text live in :mod:`qwen_gui_agent.actions.tools`. The image is resized with
factor 28 between 4 and 16384 patches (:class:`~.frame.ImageBounds` defaults),
and the tool description states that resized size as the screen resolution.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from qwen_gui_agent.actions.coordinates import CoordinateFrame
from qwen_gui_agent.actions.dialects.toolcall import PROGRESS_PREFIX, ToolCallDialect, steps_text
from qwen_gui_agent.actions.frame import ImageBounds
from qwen_gui_agent.actions.observation import EnvKind
from qwen_gui_agent.actions.tools import system_prompt, tool_name_for

QUERY_PREFIX = "The user query:  "
"""Two spaces, as in the Qwen2.5-VL mobile cookbook's trained example."""


class Qwen25Dialect(ToolCallDialect):
    """``<tool_call>`` JSON, absolute pixels of the image resized with factor 28."""

    name = "qwen2.5-vl"
    bounds = ImageBounds()

    def check_extensions(self, extensions: Iterable[str]) -> None:
        """Qwen2.5-VL's schema lists extension actions beside the trained ones (each tool
        checks the names it knows when the prompt is built)."""

    def system_prompt(
        self, frame: CoordinateFrame, env_kind: EnvKind, *, extensions: Iterable[str] = ()
    ) -> str:
        """The tool schema stating the resized size; ``extensions`` advertise untrained actions."""
        return system_prompt(tool_name_for(env_kind), frame, extensions=extensions)

    def user_prompt(self, task: str, env_kind: EnvKind, steps: Sequence[str] = ()) -> str:
        """``The user query:  {task}`` then ``Task progress (...): Step 1: {call}; ...``.

        The same text for every env kind: only the tool differs.
        """
        return f"{QUERY_PREFIX}{task}\n{PROGRESS_PREFIX}{steps_text(steps)}"
