"""Your own recorded runs as an offline test set: would the model do what the run did?

Every recorded step that decided an action is one sample: the model gets the
run's task, that step's recorded screenshot and the run's earlier steps as
history (their actions, thoughts and feedback, as the loop kept them), and its
first action is compared with the recorded first action:

- **type**: the same action type;
- **step**: the same type and the same arguments: every point (a click, the two
  ends of a drag, a scroll's position) within ``tolerance`` screenshot pixels of
  the recorded one, and otherwise equal fields (button and click count, the
  text typed, the keys pressed as a set, the app, URL or answer, a scroll's
  direction, a terminate's status).

This closes the loop record -> export -> fine-tune -> measure on held-out runs.
Past screenshots are not shown to the model (its ``history_images`` is not used).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwen_gui_agent.actions.decision import HistoryEntry
from qwen_gui_agent.actions.models import action_to_dict
from qwen_gui_agent.agent.evaluation.core import OfflineSuite
from qwen_gui_agent.agent.evaluation.score import Sample, Score, outcome_fields
from qwen_gui_agent.agent.evaluation.tables import Table, error_notes, rate
from qwen_gui_agent.errors import DatasetError, FeedbackError, UsageError

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import Decision
    from qwen_gui_agent.actions.models import Action
    from qwen_gui_agent.actions.observation import Observation
    from qwen_gui_agent.trajectories.reader import Trajectory

DEFAULT_TOLERANCE = 25.0
"""Screenshot pixels: about half a typical button on a 1280x800 screen."""
_POINTS = (("x", "y"), ("to_x", "to_y"))


def same_action(guess: Action, truth: Action, tolerance: float) -> tuple[bool, bool, str]:
    """``(type matches, everything matches, why)`` for a predicted vs a recorded action."""
    if guess.type != truth.type:
        return False, False, f"predicted {guess.type}, the run did {truth.type}"
    for xn, yn in _POINTS:
        a = (getattr(guess, xn, None), getattr(guess, yn, None))
        b = (getattr(truth, xn, None), getattr(truth, yn, None))
        if None in a or None in b:
            if (None in a) != (None in b):
                return True, False, f"{xn}/{yn}: predicted {list(a)}, recorded {list(b)}"
            continue
        distance = math.dist(a, b)
        if distance > tolerance:
            return True, False, (f"{guess.type} {xn},{yn} {list(a)} is {distance:.0f} px from the "
                                 f"recorded {list(b)} (tolerance {tolerance:g})")
    mine, theirs = _arguments(guess), _arguments(truth)
    for key in sorted(set(mine) | set(theirs)):
        if mine.get(key) != theirs.get(key):
            return True, False, f"{key}: predicted {mine.get(key)!r}, recorded {theirs.get(key)!r}"
    return True, True, f"{truth.type} as recorded" + (
        f" (points within {tolerance:g} px)" if truth.point is not None else "")


def _arguments(action: Action) -> dict[str, Any]:
    """The fields compared for equality: everything but points and timings, normalised."""
    data = action_to_dict(action)
    for name in ("type", "x", "y", "to_x", "to_y", "duration", "seconds"):
        data.pop(name, None)
    if "keys" in data:
        data["keys"] = sorted(data["keys"])
    if "dx" in data:  # a scroll: its direction, not its distance
        data["dx"], data["dy"] = _sign(data["dx"]), _sign(data["dy"])
    if action.type == "open_app":
        data["name"] = data["name"].casefold()
    return data


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


class RecordedRuns(OfflineSuite):
    """Recorded run directories (``runs/...``) as a test set; ``tolerance`` in screenshot pixels."""

    name = "runs"

    def __init__(self, runs: Sequence[Path | str], *, tolerance: float = DEFAULT_TOLERANCE) -> None:
        from qwen_gui_agent.trajectories.reader import load_trajectory

        if not runs:
            raise UsageError("name at least one run directory")
        if not tolerance >= 0:
            raise UsageError(f"tolerance must be >= 0 pixels, got {tolerance}")
        self.tolerance = float(tolerance)
        self.paths = [Path(p) for p in runs]
        self.trajectories: list[Trajectory] = [load_trajectory(p) for p in self.paths]
        names = [t.path.name for t in self.trajectories]
        if len(set(names)) != len(names):
            raise DatasetError(f"two runs share a directory name ({', '.join(names)}): sample ids "
                               "would collide")

    def settings(self) -> dict[str, Any]:
        return {"runs": [str(t.path.resolve()) for t in self.trajectories], "tolerance": self.tolerance}

    def count(self) -> int:
        return sum(1 for t in self.trajectories for s in t.steps if s.decided and s.actions)

    def samples(self) -> Iterator[Sample]:
        for trajectory in self.trajectories:
            history: list[HistoryEntry] = []
            for step in trajectory.steps:
                if step.decided and step.actions:
                    yield Sample(
                        id=f"{trajectory.path.name}:{step.index}", task=trajectory.task,
                        load=lambda t=trajectory, s=step: _observation(t, s),
                        groups={"run": trajectory.path.name, "action": step.actions[0].type},
                        target=step.actions[0], history=tuple(history),
                        input={"run": str(trajectory.path), "step": step.index,
                               "task": trajectory.task, "screenshot": step.screenshot,
                               "recorded": action_to_dict(step.actions[0])},
                    )
                history.append(HistoryEntry(actions=tuple(step.actions), raw=step.raw or "",
                                            thought=step.thought, feedback=step.feedback,
                                            screen_size=step.screen_size))

    def score(self, sample: Sample, observation: Observation,
              outcome: Decision | FeedbackError) -> Score:
        fields = outcome_fields(outcome)
        if isinstance(outcome, FeedbackError):
            return Score(sample.id, sample.groups, {"type": False, "step": False}, False,
                         f"unusable output: {outcome}", input=sample.input, **fields)
        typed, same, why = same_action(outcome.actions[0], sample.target, self.tolerance)
        return Score(sample.id, sample.groups, {"type": typed, "step": same}, same, why,
                     input=sample.input, **fields)

    def summarize(self, scores: Sequence[Score]) -> tuple[dict[str, Any], list[Table]]:
        def table(title: str, key: str) -> Table:
            out = Table(title, [key, "steps", "type", "step"])
            labels = sorted({s.groups[key] for s in scores})
            for label in [*labels, "overall"]:
                where = (lambda s: True) if label == "overall" else (lambda s, v=label: s.groups[key] == v)
                out.rows.append([label, str(sum(1 for s in scores if where(s))),
                                 rate(scores, "type", where).cell(), rate(scores, "step", where).cell()])
            return out

        by_action = table(f"Recorded runs: accuracy % (correct/total), points within "
                          f"{self.tolerance:g} px", "action")
        by_action.notes += error_notes(scores)
        by_run = table("Recorded runs, per run", "run")
        metrics = {"type": rate(scores, "type").to_json(), "step": rate(scores, "step").to_json(),
                   "by_run": {r: rate(scores, "step", lambda s, r=r: s.groups["run"] == r).to_json()
                              for r in sorted({s.groups["run"] for s in scores})}}
        return metrics, [by_action, by_run]


def _observation(trajectory: Trajectory, step: Any) -> Observation:
    from qwen_gui_agent.actions.observation import Observation

    image = trajectory.image(step)
    if image is None:
        raise DatasetError(f"{trajectory.path}: step {step.index}: screenshot {step.screenshot} "
                           "is missing")
    return Observation(image=image, env=trajectory.header.env)
