"""Many agents at once: a batch of tasks over env workers placed by Ray (issue 14).

One env per worker process, one shared model (an endpoint, or a local model
loaded once in an actor of its own), tasks handed to whichever worker is idle;
see :mod:`.runner` for the faults it survives and :mod:`.output` for what it
writes. Ray is imported only when a batch runs (``pip install 'qwen-gui-agent[fleet]'``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qwen_gui_agent._lazy import lazy_getattr

_LAZY_EXPORTS = {
    "BatchConfig": "qwen_gui_agent.agent.batch.runner",
    "BatchEvent": "qwen_gui_agent.agent.batch.runner",
    "BatchRunner": "qwen_gui_agent.agent.batch.runner",
    "BatchSummary": "qwen_gui_agent.agent.batch.runner",
    "BatchOutput": "qwen_gui_agent.agent.batch.output",
    "TaskResult": "qwen_gui_agent.agent.batch.output",
    "TaskSpec": "qwen_gui_agent.agent.batch.tasks",
    "load_tasks": "qwen_gui_agent.agent.batch.tasks",
}

__all__ = list(_LAZY_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from qwen_gui_agent.agent.batch.output import BatchOutput, TaskResult
    from qwen_gui_agent.agent.batch.runner import BatchConfig, BatchEvent, BatchRunner, BatchSummary
    from qwen_gui_agent.agent.batch.tasks import TaskSpec, load_tasks


__getattr__ = lazy_getattr(__name__, _LAZY_EXPORTS)
