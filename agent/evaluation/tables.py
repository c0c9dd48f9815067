"""Accuracy tallies and the plain-text tables ``qwen-agent eval`` prints."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from qwen_gui_agent.agent.evaluation.score import Score


@dataclass
class Rate:
    """``hits`` of ``total`` samples; ``total`` 0 means the metric did not apply."""

    hits: int = 0
    total: int = 0

    @property
    def value(self) -> float | None:
        return self.hits / self.total if self.total else None

    def add(self, hit: bool | None) -> None:
        if hit is None:
            return
        self.total += 1
        self.hits += bool(hit)

    def cell(self) -> str:
        """``62.5 (5/8)``: a percentage with the counts it comes from; ``-`` when empty."""
        if not self.total:
            return "-"
        return f"{100 * self.hits / self.total:.1f} ({self.hits}/{self.total})"

    def to_json(self) -> dict[str, Any]:
        return {"value": self.value, "hits": self.hits, "total": self.total}


def rate(scores: Iterable[Score], metric: str,
         where: Callable[[Score], bool] = lambda score: True) -> Rate:
    """How often ``metric`` held among the ``scores`` that ``where`` selects.

    A score whose sample could not be evaluated (``error``) counts as a miss of
    every metric; a metric that does not apply to a sample (None) is left out.
    """
    result = Rate()
    for score in scores:
        if where(score):
            result.add(False if score.error else score.metrics.get(metric))
    return result


@dataclass
class Table:
    """A titled grid of cells; the first column labels the rows."""

    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def render(self) -> str:
        """Aligned plain text: the title, a header, a rule, the rows, then the notes."""
        widths = [max(len(str(row[i])) for row in [self.columns, *self.rows])
                  for i in range(len(self.columns))]

        def line(cells: Sequence[str]) -> str:
            first, *rest = cells
            return "  ".join([str(first).ljust(widths[0]),
                              *(str(c).rjust(w) for c, w in zip(rest, widths[1:]))]).rstrip()

        out = [self.title, line(self.columns), "-" * len(line(self.columns))]
        out += [line(row) for row in self.rows]
        out += self.notes
        return "\n".join(out)

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "columns": self.columns, "rows": self.rows, "notes": self.notes}


def breakdown(title: str, scores: Sequence[Score], *, row: str, rows: Sequence[str],
              column: str, columns: Sequence[str], metric: str,
              overall: str = "overall") -> Table:
    """Accuracy of ``metric`` per ``row`` group x ``column`` group, with an "all" column
    and an overall row (the layout of the published ScreenSpot tables)."""
    table = Table(title, [row, *columns, "all"])
    labels = list(rows) + sorted({s.groups.get(row, "?") for s in scores} - set(rows))
    for label in [*labels, overall]:
        in_row = (lambda s: True) if label == overall else (lambda s, v=label: s.groups.get(row) == v)
        if label != overall and not any(in_row(s) for s in scores):
            continue
        cells = [rate(scores, metric, lambda s, c=c, f=in_row: f(s) and s.groups.get(column) == c).cell()
                 for c in columns]
        table.rows.append([label, *cells, rate(scores, metric, in_row).cell()])
    return table


def error_notes(scores: Sequence[Score]) -> list[str]:
    """One note per kind of sample that could not be evaluated (counted as wrong above)."""
    errors = [s for s in scores if s.error]
    if not errors:
        return []
    kinds: dict[str, int] = {}
    for score in errors:
        kind = (score.error or "").split(":", 1)[0]
        kinds[kind] = kinds.get(kind, 0) + 1
    listed = "; ".join(f"{count} x {kind}" for kind, count in sorted(kinds.items()))
    return [f"errors (counted as wrong): {len(errors)} ({listed})"]
