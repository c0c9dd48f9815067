"""Evaluation: measure a model on the published GUI benchmarks and on your own runs.

Every suite asks the model through the policy's ordinary ``decide`` (the same
prompt, parser and coordinate mapping as a run), so a number here means what
a run will do::

    from qwen_gui_agent.agent.evaluation import ScreenSpot, evaluate
    from qwen_gui_agent.model import QwenPolicy

    results = evaluate(ScreenSpot("data/ScreenSpot-v2", version=2), QwenPolicy(),
                       predictions="screenspot.jsonl", batch_size=8)
    print(results.text())

Suites: :class:`ScreenSpot`, :class:`ScreenSpotPro`, :class:`AndroidControl`
(offline; a DatasetError names the file, record and field of a malformed
dataset), :class:`RecordedRuns` (your trajectories), :class:`MiniWoB` (live, in
the browser env). ``qwen-agent eval`` is the command line over this package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from qwen_gui_agent._lazy import lazy_getattr

_LAZY_EXPORTS = {
    "evaluate": "qwen_gui_agent.agent.evaluation.core",
    "Results": "qwen_gui_agent.agent.evaluation.core",
    "Score": "qwen_gui_agent.agent.evaluation.score",
    "Sample": "qwen_gui_agent.agent.evaluation.score",
    "Progress": "qwen_gui_agent.agent.evaluation.core",
    "OfflineSuite": "qwen_gui_agent.agent.evaluation.core",
    "LiveSuite": "qwen_gui_agent.agent.evaluation.core",
    "ScreenSpot": "qwen_gui_agent.agent.evaluation.screenspot",
    "ScreenSpotPro": "qwen_gui_agent.agent.evaluation.screenspot",
    "AndroidControl": "qwen_gui_agent.agent.evaluation.androidcontrol",
    "RecordedRuns": "qwen_gui_agent.agent.evaluation.runs",
    "MiniWoB": "qwen_gui_agent.agent.evaluation.miniwob",
    "Table": "qwen_gui_agent.agent.evaluation.tables",
}

__all__ = list(_LAZY_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from qwen_gui_agent.agent.evaluation.androidcontrol import AndroidControl
    from qwen_gui_agent.agent.evaluation.core import (
        LiveSuite,
        OfflineSuite,
        Progress,
        Results,
        evaluate,
    )
    from qwen_gui_agent.agent.evaluation.miniwob import MiniWoB
    from qwen_gui_agent.agent.evaluation.runs import RecordedRuns
    from qwen_gui_agent.agent.evaluation.score import Sample, Score
    from qwen_gui_agent.agent.evaluation.screenspot import ScreenSpot, ScreenSpotPro
    from qwen_gui_agent.agent.evaluation.tables import Table


__getattr__ = lazy_getattr(__name__, _LAZY_EXPORTS)
