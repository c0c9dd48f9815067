"""The one line format benchmarks use for a target, so ``run_all.py`` can gather them.

Each benchmark prints its own tables; a figure that has a goal (from the issue
that set it) is also printed through :func:`target`, and ``run_all.py`` lists
those lines together at the end, measured figure beside its goal and baseline.
"""

from __future__ import annotations

PREFIX = "TARGET | "


def target(name: str, measured: str, goal: str, met: bool | None, baseline: str = "") -> None:
    """Print one target line: ``met`` is None where the figure has no pass/fail goal."""
    verdict = "info" if met is None else ("met" if met else "MISSED")
    print(f"{PREFIX}{name} | {measured} | {goal} | {verdict} | {baseline}", flush=True)
