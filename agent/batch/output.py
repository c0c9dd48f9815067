"""A batch's output folder: trajectories, one results line per finished task, the summary.

::

    DIR/batch.json          what ran (env, model, options) and a token workers check
    DIR/results.jsonl       one line per task that reached a final status, in finishing order
    DIR/runs/<id>/          the task's trajectory (the usual format: report, replay, export)
    DIR/runs/<id>.attemptN/ an earlier attempt, kept when the task was run again
    DIR/summary.json        the last run's summary

``results.jsonl`` is the batch's memory: each line is appended, flushed and
fsynced as its task ends, so a crash or Ctrl-C loses no finished task, and
``--resume`` runs exactly the tasks without a line.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from qwen_gui_agent.errors import DataError, UsageError

RESULTS_FILE = "results.jsonl"
RUNS_DIR = "runs"
MANIFEST_FILE = "batch.json"
SUMMARY_FILE = "summary.json"


@dataclass(frozen=True)
class TaskResult:
    """One line of ``results.jsonl``: how a task ended, after all its attempts."""

    id: str
    status: str
    steps: int
    answer: str | None
    attempts: int
    """Attempts this invocation made (a worker that died or an env that broke costs one)."""
    trajectory: str | None
    """The final attempt's trajectory folder, relative to the output folder."""
    error: str | None
    """Why the task ended, unless it succeeded."""
    duration_s: float = 0.0
    worker: str | None = None
    """Where the final attempt ran (``host pid N``, plus the device for Android)."""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, record: dict[str, Any]) -> TaskResult:
        return cls(**{name: record[name] for name in cls.__dataclass_fields__ if name in record})


class BatchOutput:
    """The output folder of one batch (created if missing).

    Without ``resume`` a folder that already holds results is refused, so a
    second batch cannot silently mix its lines into the first one's.
    """

    def __init__(self, root: Path | str, *, resume: bool = False) -> None:
        self.root = Path(root).resolve()
        self.results_path = self.root / RESULTS_FILE
        self.runs = self.root / RUNS_DIR
        if not resume and self.results_path.exists() and self.results_path.stat().st_size:
            raise UsageError(f"{self.root} already holds the results of a batch ({RESULTS_FILE}); "
                             "pass --resume to finish it, or choose another --out")
        try:
            self.runs.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"cannot create the output folder {self.root}: {exc}") from exc

    def run_dir(self, task_id: str) -> Path:
        return self.runs / task_id

    def set_aside(self, task_id: str) -> Path | None:
        """Move an earlier attempt's ``runs/<id>`` to the first free ``runs/<id>.attemptN``
        (so the next attempt records into ``runs/<id>`` and nothing is overwritten)."""
        current = self.run_dir(task_id)
        if not current.exists():
            return None
        number = 1
        while (target := self.runs / f"{task_id}.attempt{number}").exists():
            number += 1
        current.rename(target)
        return target

    def finished(self) -> dict[str, TaskResult]:
        """The results written so far, by task id.

        A last line cut short (the process died while writing it) is dropped
        from the file: its task simply runs again. Any other bad line is an error.
        """
        if not self.results_path.exists():
            return {}
        data = self.results_path.read_bytes()
        lines = data.split(b"\n")
        if lines and lines[-1] and not _is_json(lines[-1]):
            with open(self.results_path, "r+b") as file:
                file.truncate(len(data) - len(lines[-1]))
            lines = lines[:-1]
        results: dict[str, TaskResult] = {}
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                result = TaskResult.from_json(json.loads(line))
            except (ValueError, TypeError) as exc:
                raise DataError(f"{self.results_path}:{number}: not a result line ({exc}); "
                                "fix or remove the line, then resume") from exc
            results[result.id] = result
        return results

    def append(self, result: TaskResult) -> None:
        """Add ``result`` as one line, on disk before this returns."""
        line = json.dumps(result.to_json(), ensure_ascii=False) + "\n"
        with open(self.results_path, "a", encoding="utf-8") as file:
            file.write(line)
            file.flush()
            os.fsync(file.fileno())

    def write_manifest(self, manifest: dict[str, Any]) -> None:
        _write_json(self.root / MANIFEST_FILE, manifest)

    def write_summary(self, summary: dict[str, Any]) -> None:
        _write_json(self.root / SUMMARY_FILE, summary)


def check_manifest(root: Path | str, token: str) -> None:
    """Raise UsageError unless ``root`` holds the manifest of the batch ``token`` names.

    A worker on another host runs this first: an output folder that is not on a
    filesystem shared by every host would otherwise scatter the trajectories.
    """
    path = Path(root) / MANIFEST_FILE
    try:
        found = json.loads(path.read_text(encoding="utf-8")).get("token")
    except (OSError, ValueError):
        found = None
    if found != token:
        raise UsageError(f"the output folder {root} is not visible on {socket.gethostname()}: on a "
                         "cluster --out must be a shared filesystem mounted at the same path on every host")


def _is_json(line: bytes) -> bool:
    try:
        json.loads(line)
    except ValueError:
        return False
    return True


def _write_json(path: Path, data: dict[str, Any]) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    temporary.replace(path)


def relative_to(path: Path | str, root: Path) -> str:
    """``path`` relative to ``root`` when inside it, else as given (for results lines)."""
    try:
        return Path(path).resolve().relative_to(root).as_posix()
    except ValueError:
        return str(path)

