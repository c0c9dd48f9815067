"""What ``qwen-agent batch`` shows while it runs.

- :class:`BarView`: on a terminal, a live progress bar (done / running /
  failed, ETA) with one line per finished task above it (needs ``rich``, part
  of the ``fleet`` extra);
- :class:`LineView`: not a terminal (a log file, CI): the same lines, no bar;
- :class:`JsonView`: ``--json``: one JSON object per event and a final
  ``summary`` object, for programs.

All of them print the summary at the end. Everything printed is redacted.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any, Callable, TextIO

if TYPE_CHECKING:
    from qwen_gui_agent.agent.batch import BatchEvent, BatchSummary

Redact = Callable[[str], str]
ABORT_HINT = " (Ctrl-C again to abort them)"


def make_view(*, json: bool, total: int, redact: Redact,
              redact_data: Callable[[Any], Any], stream: TextIO) -> LineView | JsonView:
    """The view for this output: JSON lines, a bar on a terminal (when rich is there), else lines.

    ``stream`` is where JSON lines and the summary go (the real stdout: the
    command points ``sys.stdout`` at stderr while Ray runs, since Ray prints
    its own notices there).
    """
    if json:
        return JsonView(redact_data, stream)
    if sys.stderr.isatty():
        try:
            return BarView(total, redact, stream)
        except ImportError:
            pass
    return LineView(redact, stream)


class LineView:
    """One line per finished task, retry and worker problem; the summary at the end."""

    def __init__(self, redact: Redact, stream: TextIO) -> None:
        self.redact, self.stream = redact, stream

    def print(self, text: str) -> None:
        print(self.redact(text), file=sys.stderr, flush=True)

    def event(self, event: BatchEvent) -> None:
        line = describe(event)
        if line is not None:
            self.print(line)

    def close(self) -> None:
        """Nothing to tear down."""

    def summary(self, summary: BatchSummary, results: str) -> None:
        for line in summary_lines(summary, results):
            print(self.redact(line), file=self.stream, flush=True)


class BarView(LineView):
    """A rich progress bar on stderr, with the event lines printed above it."""

    def __init__(self, total: int, redact: Redact, stream: TextIO) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        super().__init__(redact, stream)
        self.progress = Progress(
            TextColumn("batch"), BarColumn(), MofNCompleteColumn(),
            TextColumn("running {task.fields[running]}  failed {task.fields[failed]}"),
            TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self.bar = self.progress.add_task("batch", total=total, running=0, failed=0)
        self.running: set[str] = set()
        self.failed = 0
        self.progress.start()

    def print(self, text: str) -> None:
        self.progress.console.print(self.redact(text), markup=False, highlight=False)

    def event(self, event: BatchEvent) -> None:
        if event.kind == "started" and event.task:
            self.running.add(event.task)
        elif event.kind in ("finished", "unfinished") and event.task:
            self.running.discard(event.task)
        if event.kind == "finished" and event.result is not None:
            self.failed += event.result.status != "success"
            self.progress.advance(self.bar)
        self.progress.update(self.bar, running=len(self.running), failed=self.failed)
        super().event(event)

    def close(self) -> None:
        """Take the bar off the terminal (before the summary, or on the way out of an error)."""
        self.progress.stop()


class JsonView:
    """``{"type": <event kind>, ...}`` per event, then ``{"type": "summary", ...}``, on stdout."""

    def __init__(self, redact_data: Callable[[Any], Any], stream: TextIO) -> None:
        self.redact_data, self.stream = redact_data, stream

    def emit(self, record: dict[str, Any]) -> None:
        print(json.dumps(self.redact_data(record), ensure_ascii=False, default=str),
              file=self.stream, flush=True)

    def event(self, event: BatchEvent) -> None:
        record: dict[str, Any] = {"type": event.kind}
        if event.task is not None:
            record.update(id=event.task, attempt=event.attempt)
        if event.worker is not None:
            record["worker"] = {"index": event.worker.index, "pid": event.worker.pid,
                                "host": event.worker.host, "env": event.worker.env}
        if event.result is not None:
            record.update(event.result.to_json())
        if event.message:
            record["message"] = event.message
        self.emit(record)

    def close(self) -> None:
        """Nothing to tear down."""

    def summary(self, summary: BatchSummary, results: str) -> None:
        self.emit({"type": "summary", **summary.to_json()})


def describe(event: BatchEvent) -> str | None:
    """The human line for an event, or None for those the bar alone shows."""
    where = f" on {event.worker}" if event.worker is not None else ""
    if event.kind == "finished" and event.result is not None:
        result = event.result
        text = f"{result.id}: {result.status} after {result.steps} step(s)"
        if result.attempts > 1:
            text += f", attempt {result.attempts}"
        if result.answer:
            text += f"; answer: {result.answer}"
        elif result.error and result.status != "failure":
            text += f"; {result.error}"
        return text
    if event.kind == "retry":
        return f"{event.task}: attempt {event.attempt} failed ({event.message}); running it again"
    if event.kind in ("worker_failed", "worker_lost"):
        return f"worker{where}: {event.message}"
    if event.kind == "stopping":
        return event.message + ABORT_HINT
    return None


def summary_lines(summary: BatchSummary, out: str) -> list[str]:
    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary.by_status.items())) or "none"
    lines = [f"batch: {len(summary.results)} task(s) finished: {counts}"
             + (f" ({summary.skipped} already finished before)" if summary.skipped else "")]
    if summary.success_rate is not None:
        figures = [f"success rate {summary.success_rate:.0%}"]
        if summary.steps_per_s is not None:
            figures.append(f"{summary.steps_run} step(s) in {summary.run_s:.1f}s "
                           f"({summary.steps_per_s:.2f} steps/s)")
        if summary.model_share is not None:
            figures.append(f"model time share {summary.model_share:.0%}")
        lines.append(", ".join(figures))
    if summary.model_servers:
        lines.append(f"model loaded once per actor: {'; '.join(summary.model_servers)}")
    if summary.message:
        lines.append(summary.message)
    if summary.unfinished:
        lines.append(f"{len(summary.unfinished)} task(s) without a result "
                     f"({', '.join(summary.unfinished[:5])}{', ...' if len(summary.unfinished) > 5 else ''}): "
                     "run the same command with --resume")
    lines.append(f"results: {out}/results.jsonl")
    return lines
