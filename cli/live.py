"""What a person (or a script) sees while the agent runs.

:class:`LiveView` prints one compact block per step (number, action, timings,
thought), each line cut to the terminal's width, and a summary at the end.
:class:`JsonView` prints one JSON object per line instead (``"type": "step"``
then ``"type": "summary"``) for programs that drive ``qwen-agent``.
Both take an optional redaction function so nothing printed can leak a secret.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
import textwrap
import unicodedata
from typing import TYPE_CHECKING, Any, Callable, Sequence, TextIO

from qwen_gui_agent._text import repair

if TYPE_CHECKING:
    from qwen_gui_agent.actions.models import Action
    from qwen_gui_agent.agent.loop import RunResult, StepResult

Redact = Callable[[str], str]
_FREE_TEXT = frozenset({"text", "url", "name"})
"""Fields holding free text, shown quoted; enum-like values (``status``, ``button``) are not."""
_NEWLINES = re.compile(r"\s*[\r\n]+\s*")

STATUS_MARKS = {
    "success": "done", "failure": "FAILED", "max_steps": "STOPPED (step limit)",
    "stuck": "STOPPED (stuck)", "error": "ERROR", "interrupted": "INTERRUPTED",
    "timeout": "STOPPED (timeout)",
}


def describe_action(action: Action) -> str:
    """A short human form: ``click (412, 230)``, ``type "hello"``, ``drag (1, 2) -> (3, 4)``."""
    fields = action.model_dump(mode="json", exclude={"type", "x", "y", "to_x", "to_y"},
                               exclude_defaults=True)
    parts = [action.type]
    if action.point is not None:
        parts.append("({}, {})".format(*action.point))
    if getattr(action, "to_x", None) is not None:
        parts.append(f"-> ({action.to_x}, {action.to_y})")
    for name, value in fields.items():
        if isinstance(value, list):
            text = "+".join(map(str, value))
        else:
            text = json.dumps(value, ensure_ascii=False) if name in _FREE_TEXT else str(value)
        parts.append(text if len(fields) == 1 and isinstance(value, (str, list)) else f"{name}={text}")
    return " ".join(parts)


def _seconds(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}s"


def _char_columns(char: str) -> int:
    """Terminal cells a character takes: 2 for wide East Asian ones, 0 for combining marks."""
    if unicodedata.combining(char) or unicodedata.category(char) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(char) in ("W", "F") else 1


def columns(text: str) -> int:
    """The width of ``text`` on a terminal, which ``len`` gets wrong for CJK, emoji and accents."""
    return sum(map(_char_columns, text))


def fit(text: str, width: int) -> str:
    """One line no wider than ``width`` terminal cells (newlines folded, an ellipsis where cut)."""
    line = _NEWLINES.sub(" ", text.rstrip())
    if columns(line) <= width:
        return line
    room, kept = max(width - 3, 0), []
    for char in line:
        room -= _char_columns(char)
        if room < 0:
            break
        kept.append(char)
    return "".join(kept) + "..."


class LiveView:
    """The terminal view: a header, a block per step, a summary."""

    def __init__(self, stream: TextIO | None = None, redact: Redact | None = None,
                 width: int | None = None) -> None:
        self.stream = stream or sys.stdout
        self.redact = redact or (lambda text: text)
        self._width = width

    @property
    def width(self) -> int:
        return self._width or max(shutil.get_terminal_size((100, 24)).columns, 40)

    def _print(self, text: str) -> None:
        print(fit(repair(self.redact(text)), self.width), file=self.stream, flush=True)

    def start(self, task: str, details: Sequence[str]) -> None:
        self._print(f"task: {task}")
        for detail in details:
            self._print(f"  {detail}")

    def step(self, step: StepResult) -> None:
        head = f"{step.index:>3}  " + ("; ".join(describe_action(a) for a in step.actions)
                                       if step.actions else "(no usable action)")
        refused = next((v for v in step.verdicts if not v.allowed), None)
        if refused is not None:
            head += "  [declined]" if refused.asked else "  [blocked]"
        timings = self.timings(step)
        room = self.width - len(timings) - 2
        if room > 20:
            head = fit(self.redact(head), room)
            head += " " * (room - columns(head)) + "  " + timings
        self._print(head)
        if step.decision is not None and step.decision.thought:
            self._print(f"     {step.decision.thought}")
        if step.error:
            self._print(f"     error: {step.error}")
        elif step.feedback:
            self._print(f"     note: {step.feedback}")

    @staticmethod
    def timings(step: StepResult) -> str:
        return (f"model {_seconds(step.timings.get('decide'))}  "
                f"act {_seconds(step.timings.get('execute'))}")

    def summary(self, result: RunResult) -> None:
        mark = STATUS_MARKS.get(result.status, result.status)
        self._print(f"{mark}: {result.status} after {len(result.steps)} step(s) "
                    f"in {result.duration_s:.1f}s")
        if result.answer:
            self._print(f"answer: {result.answer}")
        if result.message:  # wrapped, not cut: it says why the run ended and what to do
            for line in textwrap.wrap(repair(self.redact(f"message: {result.message}")),
                                      self.width, subsequent_indent="  "):
                print(line, file=self.stream, flush=True)
        if result.trajectory_path:
            print(f"trajectory: {result.trajectory_path}", file=self.stream, flush=True)


class JsonView:
    """One JSON object per line on the stream: each step, then the summary.

    ``redact_data`` (e.g. ``Secrets.redact_data``) is applied to each record
    before it is encoded, so escaping cannot hide a secret from it.
    """

    def __init__(self, stream: TextIO | None = None,
                 redact_data: Callable[[Any], Any] | None = None) -> None:
        self.stream = stream or sys.stdout
        self.redact_data = redact_data or (lambda data: data)

    def _emit(self, record: dict[str, Any]) -> None:
        line = json.dumps(self.redact_data(record), ensure_ascii=False, default=str)
        print(repair(line), file=self.stream, flush=True)

    def start(self, task: str, details: Sequence[str]) -> None:
        """Nothing: the first line a program reads is the first step."""

    def step(self, step: StepResult) -> None:
        decision = step.decision
        self._emit({
            "type": "step", "index": step.index,
            "actions": [a.model_dump(mode="json") for a in step.actions],
            "thought": decision.thought if decision is not None else None,
            "raw": step.raw, "executed": step.executed,
            "error": step.error, "feedback": step.feedback,
            "verdicts": [{"kind": v.kind, "allowed": v.allowed, "asked": v.asked, "reason": v.reason}
                         for v in step.verdicts],
            "model_timings": decision.timings if decision is not None else {},
            "timings": step.timings, "status": step.status,
        })

    def summary(self, result: RunResult) -> None:
        from qwen_gui_agent.cli.exit_codes import EXIT_CODES

        self._emit({
            "type": "summary", "status": result.status, "answer": result.answer,
            "message": result.message, "steps": len(result.steps),
            "trajectory": None if result.trajectory_path is None else str(result.trajectory_path),
            "duration_s": round(result.duration_s, 3), "exit_code": EXIT_CODES[result.status],
        })
