"""The tasks file of a batch: one JSON object per line, checked whole before anything starts.

Each line is ``{"id": "...", "task": "...", "env": {...}}``. The ``id`` names
the task's trajectory folder (``runs/<id>``) and its line in ``results.jsonl``,
so it must be unique and safe as a file name; ``env`` holds the options that
set the env up for this task (they differ per env kind, see :data:`TASK_ENV_OPTIONS`).
A file with any bad line is refused as a whole, naming the line: finding a
typo after an hour of running is worse than finding it at once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from qwen_gui_agent.errors import TaskFileError

TASK_ENV_OPTIONS: dict[str, dict[str, str]] = {
    "browser": {"url": "the page to open before the task starts"},
    "android": {"app": "an app to open first (label or package, as the open_app action takes)",
                "activity": "a component to start first, e.g. com.android.settings/.Settings"},
    "desktop": {"command": "a program to start on the worker's display first (a string split "
                           "like a shell would, or a list of arguments); it and what it started "
                           "are stopped when the task ends"},
}
"""Per env kind, the keys a task's ``env`` object may hold, with what each does."""

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
_ATTEMPT_SUFFIX = re.compile(r"\.attempt\d+$")
"""Earlier attempts are kept as ``runs/<id>.attemptN``: an id may not look like one."""
_ACTIVITY = re.compile(r"[A-Za-z0-9_.]+/[A-Za-z0-9_.$]+")


@dataclass(frozen=True)
class TaskSpec:
    """One task of a batch, as read from its line of the tasks file."""

    id: str
    task: str
    env: dict[str, Any] = field(default_factory=dict)
    line: int = 0
    """1-based line in the tasks file (0 when built in code)."""


def load_tasks(path: Path | str, kind: str) -> list[TaskSpec]:
    """Read and check every line of ``path`` for an env of ``kind``; TaskFileError on the first
    bad line (a duplicate id names both lines)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TaskFileError(f"cannot read the tasks file {path}: {exc}") from exc
    tasks: list[TaskSpec] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip():
            continue
        spec = parse_task(raw, kind, where=f"{path}:{number}", line=number)
        if spec.id in first_line:
            raise TaskFileError(f"{path}:{number}: duplicate id {spec.id!r}, "
                                f"already used on line {first_line[spec.id]}")
        first_line[spec.id] = number
        tasks.append(spec)
    if not tasks:
        raise TaskFileError(f"{path} holds no task: write one JSON object per line, "
                            '{"id": "...", "task": "...", "env": {...}}')
    return tasks


def parse_task(raw: str, kind: str, *, where: str = "task", line: int = 0) -> TaskSpec:
    """One line of a tasks file as a :class:`TaskSpec` (``where`` prefixes the error messages)."""
    try:
        record = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TaskFileError(f"{where}: not a JSON object ({exc.msg} at column {exc.colno})") from None
    if not isinstance(record, dict):
        raise TaskFileError(f"{where}: expected a JSON object, got {type(record).__name__}")
    stray = sorted(set(record) - {"id", "task", "env"})
    if stray:
        raise TaskFileError(f"{where}: unknown field(s) {', '.join(stray)}; a task has id, task and env")
    return _checked(record.get("id"), record.get("task"), record.get("env"), kind, where, line)


def check_task(spec: TaskSpec, kind: str) -> TaskSpec:
    """``spec``, if its id, text and env options are usable for ``kind`` (TaskFileError otherwise):
    tasks built in code get the checks of those read from a file."""
    return _checked(spec.id, spec.task, spec.env, kind, f"task {spec.id!r}", spec.line)


def _checked(task_id: Any, text: Any, env: Any, kind: str, where: str, line: int) -> TaskSpec:
    return TaskSpec(id=_task_id(task_id, where), task=_task_text(text, where),
                    env=_task_env(env, kind, where), line=line)


def _task_id(value: Any, where: str) -> str:
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not _ID.fullmatch(value) or _ATTEMPT_SUFFIX.search(value):
        raise TaskFileError(
            f"{where}: id must be 1-128 letters, digits, '.', '_' or '-', starting with a letter "
            f"or digit and not ending in .attemptN (it names the task's folder), got {value!r}")
    return value


def _task_text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise TaskFileError(f"{where}: task must be a non-empty string, got {value!r}")
    return value


def _task_env(value: Any, kind: str, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TaskFileError(f"{where}: env must be an object, got {type(value).__name__}")
    allowed = TASK_ENV_OPTIONS[kind]
    stray = sorted(set(value) - set(allowed))
    if stray:
        raise TaskFileError(f"{where}: env option(s) {', '.join(stray)} do not apply to the {kind} env; "
                            f"it takes {', '.join(allowed)}")
    for key, option in value.items():
        if key == "command":
            ok = (isinstance(option, str) and option.strip()) or (
                isinstance(option, list) and option and all(isinstance(a, str) for a in option))
        else:
            ok = isinstance(option, str) and option.strip()
        if key == "activity" and ok:
            ok = _ACTIVITY.fullmatch(option)
        if not ok:
            raise TaskFileError(f"{where}: env.{key} is not usable ({TASK_ENV_OPTIONS[kind][key]}), "
                                f"got {option!r}")
    return dict(value)
