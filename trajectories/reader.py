"""Reading a recorded run back as typed records (the format is in :mod:`.format`).

Trajectory files are shared between people, so everything read here is
untrusted: a line that does not validate is a :class:`TrajectoryError` naming
the file and the line (also for JSON nested deeper than a parser can follow),
a screenshot path may only name a file inside the run folder (no absolute
paths, no ``..``, no symlink leading out), and an image is measured before it
is decoded (:data:`MAX_SCREENSHOT_PIXELS`). A screenshot that breaks these
rules raises :class:`ScreenshotError`, so a report or an export can skip that
one image and go on.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from qwen_gui_agent.errors import ScreenshotError, TrajectoryError
from qwen_gui_agent.trajectories.format import (
    FORMAT_VERSION,
    INCOMPLETE,
    LINE_ADAPTER,
    TRAJECTORY_FILE,
    Header,
    StepRecord,
    Summary,
)

if TYPE_CHECKING:
    from PIL.Image import Image

MAX_SCREENSHOT_PIXELS = 8192 * 8192
"""The largest screenshot read back (about 67 megapixels: an 8K screen is 33): a bigger
"screenshot" in a shared file is an attack on memory, not a screen."""


@dataclass
class Trajectory:
    """A run as recorded: its header, its steps in order, and its summary if it finished."""

    path: Path
    """The run directory."""
    header: Header
    steps: list[StepRecord] = field(default_factory=list)
    summary: Summary | None = None
    torn: bool = False
    """True when the last line was cut short (the writer died mid-line) and was ignored."""

    @property
    def status(self) -> str:
        """The summary's status, or ``incomplete`` when the run never wrote one."""
        return self.summary.status if self.summary is not None else INCOMPLETE

    @property
    def task(self) -> str:
        return self.header.task

    def screenshot_path(self, step: StepRecord) -> Path | None:
        """The step's PNG, or None when it is missing (the run died before it was written).

        Raises :class:`ScreenshotError` for a path that leads outside the run folder.
        """
        if step.screenshot is None:
            return None
        relative = Path(step.screenshot)
        if relative.is_absolute() or ".." in relative.parts:
            raise ScreenshotError(f"step {step.index}: the screenshot path {step.screenshot!r} "
                                  "leaves the run folder")
        path = self.path / relative
        if not path.is_file():
            return None
        if not path.resolve().is_relative_to(self.path.resolve()):
            raise ScreenshotError(f"step {step.index}: the screenshot {step.screenshot!r} is a "
                                  "link to a file outside the run folder")
        return path

    def image(self, step: StepRecord) -> Image | None:
        """The step's screenshot, loaded (RGB), or None when it is missing.

        Raises :class:`ScreenshotError` when it is outside the run folder, not an
        image, or larger than :data:`MAX_SCREENSHOT_PIXELS`.
        """
        path = self.screenshot_path(step)
        if path is None:
            return None
        from PIL import Image as PILImage
        from PIL import UnidentifiedImageError

        too_large = f"over the {MAX_SCREENSHOT_PIXELS:,} pixels a screenshot may have"
        try:
            with warnings.catch_warnings():  # the size is checked here, before anything is decoded
                warnings.simplefilter("ignore", PILImage.DecompressionBombWarning)
                image = PILImage.open(path)  # reads the header only
            with image:
                if image.width * image.height > MAX_SCREENSHOT_PIXELS:
                    raise ScreenshotError(
                        f"step {step.index}: {path} is {image.width}x{image.height}, {too_large}")
                return image.convert("RGB")
        except PILImage.DecompressionBombError as exc:
            raise ScreenshotError(f"step {step.index}: {path} is {too_large} ({exc})") from exc
        except (OSError, UnidentifiedImageError, ValueError) as exc:
            raise ScreenshotError(f"step {step.index}: {path} is not a readable image ({exc})") from exc


def run_folders(path: Path | str) -> list[Path]:
    """``path`` itself when it is a run (a folder or its trajectory file), else the runs
    directly inside it, sorted by name (the recorder's names start with their UTC time)."""
    path = Path(path)
    if not path.exists():
        raise TrajectoryError(f"no trajectory at {path}: there is no such file or folder")
    if not path.is_dir() or (path / TRAJECTORY_FILE).is_file():
        return [path]
    runs = sorted(child for child in path.iterdir() if (child / TRAJECTORY_FILE).is_file())
    if not runs:
        raise TrajectoryError(f"no trajectory at {path}: expected a run folder holding "
                              f"{TRAJECTORY_FILE}, or a folder of runs")
    return runs


def latest_run(path: Path | str) -> Path:
    """The run at ``path``, or the most recently written run in a folder of runs."""
    return max(run_folders(path), key=lambda run: trajectory_file(run).stat().st_mtime)


def trajectory_file(path: Path | str) -> Path:
    """The ``trajectory.jsonl`` of a run directory (or the file itself if given)."""
    path = Path(path)
    file = path / TRAJECTORY_FILE if path.is_dir() else path
    if not file.is_file():
        raise TrajectoryError(f"no trajectory at {path}: expected a run directory holding {TRAJECTORY_FILE}")
    return file


def load_trajectory(path: Path | str) -> Trajectory:
    """Read a run directory (or its ``trajectory.jsonl``) into a :class:`Trajectory`.

    A torn last line is ignored (``torn`` is set); any other unreadable line,
    a missing header or a newer ``format_version`` raises
    :class:`~.format.TrajectoryError` naming the file and line.
    """
    file = trajectory_file(path)
    content = file.read_bytes()
    lines = content.split(b"\n")
    complete_end = content.endswith(b"\n")
    if complete_end:
        lines.pop()
    header: Header | None = None
    trajectory: Trajectory | None = None
    for number, raw in enumerate(lines, start=1):
        last = number == len(lines)
        if not raw.strip():
            continue
        try:
            data = json.loads(raw)  # bytes: a line cut inside a UTF-8 sequence fails here too
        except (ValueError, RecursionError) as exc:
            if last and trajectory is not None and not complete_end:  # torn by a kill
                trajectory.torn = True
                break
            raise TrajectoryError(f"{file}:{number}: not a valid trajectory line: {_short(exc)}") from exc
        if header is None:
            _check_version(data, file)
        try:
            record = LINE_ADAPTER.validate_python(data)
        except (ValidationError, RecursionError) as exc:
            raise TrajectoryError(f"{file}:{number}: not a valid trajectory line: {_short(exc)}") from exc
        if header is None:
            if not isinstance(record, Header):
                raise TrajectoryError(f"{file}:{number}: the first line must be the header")
            header = record
            trajectory = Trajectory(path=file.parent, header=header)
        elif isinstance(record, StepRecord) and trajectory.summary is None:
            trajectory.steps.append(record)
        elif isinstance(record, Summary) and trajectory.summary is None:
            trajectory.summary = record
        else:
            raise TrajectoryError(f"{file}:{number}: unexpected {record.type} line here")
    if trajectory is None:
        raise TrajectoryError(f"{file}: empty or headerless trajectory")
    return trajectory


def _check_version(data: object, file: Path) -> None:
    """Refuse a header from a newer writer before validating it: a newer format may
    change the header itself, and "upgrade" is the useful message then, not a schema error."""
    version = data.get("format_version") if isinstance(data, dict) else None
    if isinstance(version, int) and version > FORMAT_VERSION:
        raise TrajectoryError(
            f"{file}: format_version {version} is newer than this reader "
            f"({FORMAT_VERSION}); upgrade qwen-gui-agent"
        )


def _short(exc: Exception) -> str:
    text = str(exc)
    return text if len(text) < 300 else text[:300] + "..."
