"""Trajectories: every run leaves data a person can look at, replay and train on.

Data only: this package knows the action space and the shared vocabulary,
nothing of models, envs or the agent (replaying a run is the agent's job:
:func:`qwen_gui_agent.agent.replay`).

- :mod:`.format`: the versioned on-disk format (documented there).
- :mod:`.recorder`: :class:`Recorder`, crash-safe writing; :func:`new_run_dir`.
- :mod:`.reader`: :func:`load_trajectory` -> :class:`Trajectory` with typed steps.
- :mod:`.export`: :func:`export` runs as SFT data (qwen-vl-finetune, LLaMA-Factory).
- :mod:`.report`: :func:`write_report`, one self-contained HTML file per run.

The names are imported here, not resolved lazily, because ``export`` is both a
submodule and a function: a lazy lookup would hand out the module once
anything imported the submodule directly. Every module here defers PIL to the
functions that use it, so importing the package costs only pydantic and the
action models.
"""

from qwen_gui_agent.errors import ExportError, RecorderError, ScreenshotError, TrajectoryError
from qwen_gui_agent.trajectories.export import ExportSummary, export
from qwen_gui_agent.trajectories.format import FORMAT_VERSION, Header, StepRecord, Summary
from qwen_gui_agent.trajectories.reader import Trajectory, latest_run, load_trajectory, run_folders
from qwen_gui_agent.trajectories.recorder import Recorder, new_run_dir
from qwen_gui_agent.trajectories.report import write_report

__all__ = [
    "FORMAT_VERSION", "ExportError", "ExportSummary", "Header", "Recorder", "RecorderError",
    "ScreenshotError",
    "StepRecord", "Summary", "Trajectory", "TrajectoryError", "export", "latest_run",
    "load_trajectory", "new_run_dir", "run_folders", "write_report",
]
