"""Trajectories: every run leaves data a person can look at, replay and train on.

- :mod:`.format`: the versioned on-disk format (documented there).
- :mod:`.recorder`: :class:`Recorder`, crash-safe writing; :func:`new_run_dir`.
- :mod:`.reader`: :func:`load_trajectory` -> :class:`Trajectory` with typed steps.
- :mod:`.replay`: :func:`replay` recorded actions on a live env.
- :mod:`.export`: :func:`export` runs as SFT data (qwen-vl-finetune, LLaMA-Factory).
- :mod:`.report`: :func:`write_report`, one self-contained HTML file per run.

The names are imported here, not resolved lazily, because ``replay`` and
``export`` are both a submodule and a function: a lazy lookup would hand out
the module once anything imported the submodule directly. Every module here
defers PIL and the model code to the functions that use them, so importing
the package costs only pydantic and the action models.
"""

from qwen_gui_agent.trajectories.export import ExportError, ExportSummary, export
from qwen_gui_agent.trajectories.format import (
    FORMAT_VERSION, Header, StepRecord, Summary, TrajectoryError,
)
from qwen_gui_agent.trajectories.reader import Trajectory, load_trajectory
from qwen_gui_agent.trajectories.recorder import Recorder, RecorderError, new_run_dir
from qwen_gui_agent.trajectories.replay import Mismatch, ReplayResult, replay, screen_similarity
from qwen_gui_agent.trajectories.report import write_report

__all__ = [
    "FORMAT_VERSION", "ExportError", "ExportSummary", "Header", "Mismatch", "Recorder",
    "RecorderError", "ReplayResult", "StepRecord", "Summary", "Trajectory", "TrajectoryError",
    "export", "load_trajectory", "new_run_dir", "replay", "screen_similarity",
    "write_report",
]
