"""Re-executing a recorded run on a live env, checking the screen before each step.

Before each recorded step the live screen is compared with the step's recorded
screenshot by :func:`screen_similarity`. Below ``threshold`` the step is a
*mismatch* and ``on_mismatch`` decides: ``stop`` the replay, ``continue``
with the recorded action anyway, or hand that step to the ``model`` (a
:class:`~qwen_gui_agent.model.policy.Policy` asked with the run's task). The
replay is itself recorded as a new run (header key ``replay`` names the
source), so it can be inspected, reported and replayed in turn.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qwen_gui_agent.actions.decision import Decision, HistoryEntry
from qwen_gui_agent.actions.models import FINAL_ACTIONS, Answer, Terminate
from qwen_gui_agent.envs.screens import screen_similarity
from qwen_gui_agent.errors import ActionError, ParseError, UsageError
from qwen_gui_agent.trajectories.reader import Trajectory, load_trajectory
from qwen_gui_agent.trajectories.recorder import Recorder, Redactor, new_run_dir

if TYPE_CHECKING:
    from PIL.Image import Image

    from qwen_gui_agent.actions.models import Action
    from qwen_gui_agent.actions.observation import Observation, Outcome
    from qwen_gui_agent.envs.base import Env
    from qwen_gui_agent.model.policy import Policy
    from qwen_gui_agent.trajectories.format import StepRecord

OnMismatch = Literal["stop", "continue", "model"]

DEFAULT_THRESHOLD = 0.97
"""Similarity below which the live screen no longer counts as the recorded one.

:func:`screen_similarity` is the share of a 128-pixel-wide greyscale thumbnail
whose cells agree within :data:`PIXEL_TOLERANCE`; 0.97 therefore tolerates a
blinking caret, a ticking clock or a hover highlight (well under 3 % of the
screen) but flags a different page, dialog or layout.
"""


def scale_action(action: Action, source: tuple[int, int], target: tuple[int, int]) -> Action:
    """``action`` with its pixel fields mapped from a ``source`` to a ``target`` screen size."""
    if source == target:
        return action
    sx, sy = target[0] / source[0], target[1] / source[1]
    update: dict[str, int] = {}
    for name, factor, limit in (
        ("x", sx, target[0]), ("to_x", sx, target[0]), ("y", sy, target[1]), ("to_y", sy, target[1]),
    ):
        value = getattr(action, name, None)
        if value is not None:
            update[name] = min(limit - 1, round(value * factor))
    for name, factor in (("dx", sx), ("dy", sy)):
        value = getattr(action, name, None)
        if value:
            update[name] = round(value * factor) or (1 if value > 0 else -1)
    return action.model_copy(update=update)


@dataclass(frozen=True)
class Mismatch:
    """A recorded step whose screen did not match the live one."""

    index: int
    """The recorded step's index."""
    similarity: float


@dataclass
class ReplayResult:
    """How a replay went.

    ``status``: ``completed`` (every recorded step was replayed), ``mismatch``
    (stopped at a mismatch), or, when the model took over and ended the task,
    ``success`` (it terminated successfully or answered) / ``failure``.
    ``trajectory_path`` is the replay's own run directory (None with ``record=False``).
    """

    status: str
    trajectory_path: Path | None
    replayed: int = 0
    """Recorded steps re-executed."""
    model_steps: int = 0
    """Steps the model decided after a mismatch."""
    mismatches: list[Mismatch] = field(default_factory=list)
    answer: str | None = None
    message: str | None = None

    @property
    def steps(self) -> int:
        return self.replayed + self.model_steps


def replay(
    run_path: Path | str,
    env: Env,
    *,
    on_mismatch: OnMismatch = "stop",
    policy: Policy | None = None,
    speed: float = 1.0,
    threshold: float = DEFAULT_THRESHOLD,
    record_dir: Path | str | None = None,
    record: bool = True,
    settle: bool = True,
    mismatch_wait: float = 2.0,
    redact: Redactor | None = None,
) -> ReplayResult:
    """Re-execute the actions recorded in ``run_path`` on the live ``env``.

    Keyword arguments (one CLI flag each):

    - ``on_mismatch``: ``stop`` | ``continue`` | ``model`` (``model`` needs ``policy``).
    - ``speed``: multiplies the recorded pace; 2 replays twice as fast, 0 as fast
      as possible.
    - ``threshold``: :func:`screen_similarity` below which a screen mismatches
      (default :data:`DEFAULT_THRESHOLD`).
    - ``record_dir``: where the replay's own run directory is created (default:
      next to the recorded run); ``record=False`` records nothing.
    - ``settle``: wait for the screen to stop changing before comparing.
    - ``mismatch_wait``: seconds to keep looking for the recorded screen before a
      mismatch is declared (pages still loading).
    - ``redact``: applied to the text the replay records (the model's, if it takes over).

    Coordinates are scaled when the live screen size differs from the recorded one.
    Steps that performed nothing (refused, failed to parse, final answers) are skipped.
    An ``EnvError`` (the env became unusable) or Ctrl-C ends the replay, recorded as
    ``error`` / ``interrupted``, and propagates.
    """
    if on_mismatch not in ("stop", "continue", "model"):
        raise UsageError(f"on_mismatch must be stop, continue or model, not {on_mismatch!r}")
    if on_mismatch == "model" and policy is None:
        raise UsageError("on_mismatch='model' needs a policy to ask")
    if speed < 0:
        raise UsageError(f"speed must be >= 0 (0 = as fast as possible), not {speed}")
    if not 0 < threshold <= 1:
        raise UsageError(f"threshold must be in (0, 1], not {threshold}")
    trajectory = load_trajectory(run_path)
    recorder = None
    if record:
        root = Path(record_dir) if record_dir is not None else trajectory.path.parent
        header = _replay_header(trajectory, env, on_mismatch, threshold, speed)
        recorder = Recorder(new_run_dir(root, label="replay"), header, redact=redact)
    run = _Replay(trajectory, env, recorder, on_mismatch, policy, threshold, settle, mismatch_wait)
    try:
        run.run(speed)
    except BaseException as exc:
        if recorder is not None:
            status = "interrupted" if isinstance(exc, KeyboardInterrupt) else "error"
            recorder.finish(status=status, message=f"replay stopped: {exc!r}", steps=run.index)
        raise
    else:
        if recorder is not None:
            recorder.finish(status=run.result.status, answer=run.result.answer,
                            message=run.result.message, steps=run.index)
    finally:
        if recorder is not None:
            recorder.close()
    return run.result


def _replay_header(
    trajectory: Trajectory, env: Env, on_mismatch: str, threshold: float, speed: float
) -> dict[str, Any]:
    source = trajectory.header.model_dump(exclude={"type", "format_version", "created", "versions"})
    source.update(env=env.kind, env_options=dict(getattr(env, "options", None) or {}), replay={
        "source": str(trajectory.path), "source_env": trajectory.header.env,
        "on_mismatch": on_mismatch, "threshold": threshold, "speed": speed,
    })
    return source


def _performable(step: StepRecord) -> list[Action]:
    """The env actions the recorded run actually performed in ``step``.

    ``extra.performed`` (written by the loop when a refusal, a failure or a final
    action cut a multi-action decision short) bounds them: replaying a declined
    action, or the ones after it, would do what the user said no to.
    """
    performed = step.extra.get("performed")
    actions = step.actions if performed is None else step.actions[:performed]
    return [a for a in actions if not isinstance(a, FINAL_ACTIONS)]


class _Replay:
    """The state of one replay; :meth:`run` walks the recorded steps."""

    def __init__(self, trajectory: Trajectory, env: Env, recorder: Recorder | None, on_mismatch: str,
                 policy: Policy | None, threshold: float, settle: bool, mismatch_wait: float) -> None:
        self.trajectory, self.env, self.recorder = trajectory, env, recorder
        self.on_mismatch, self.policy = on_mismatch, policy
        self.threshold, self.settle, self.mismatch_wait = threshold, settle, mismatch_wait
        self.history: list[HistoryEntry] = []
        self.index = 0
        self.result = ReplayResult(
            status="completed", trajectory_path=recorder.path if recorder is not None else None
        )

    def run(self, speed: float) -> None:
        steps = [s for s in self.trajectory.steps if s.executed and _performable(s)]
        previous: tuple[float, float] | None = None  # (recorded timestamp, live start)
        for step in steps:
            if previous is not None and speed > 0:
                due = previous[1] + (step.observation.timestamp - previous[0]) / speed
                time.sleep(max(0.0, due - time.monotonic()))
            previous = (step.observation.timestamp, time.monotonic())
            if not self._step(step):
                return

    def _step(self, step: StepRecord) -> bool:
        """Replay one recorded step; False ends the replay."""
        start = time.perf_counter()
        observation, similarity = self._observe(self.trajectory.image(step))
        timings = {"observe": time.perf_counter() - start}
        matched = similarity is None or similarity >= self.threshold
        extra = {"replay": {"source_step": step.index, "similarity": similarity, "matched": matched,
                            "by": "recording" if matched or self.on_mismatch == "continue" else "model"}}
        self.index += 1
        if not matched:
            self.result.mismatches.append(Mismatch(step.index, similarity))
            if self.on_mismatch == "stop":
                message = (f"the screen differs from recorded step {step.index}: similarity "
                           f"{similarity:.3f} < threshold {self.threshold}")
                self._record(observation=observation, decision=None, outcome=None, error=message,
                             timings=timings, executed=False, extra=extra)
                self.result.status, self.result.message = "mismatch", message
                return False
            if self.on_mismatch == "model":
                return self._model_step(observation, timings, extra)
        size = (observation.width, observation.height)
        same_size = size == step.screen_size
        decision = Decision(
            actions=tuple(scale_action(a, step.screen_size, size) for a in _performable(step)),
            raw=step.raw or "", thought=step.thought,
            model_calls=step.model_calls if same_size else [],
            model_size=step.model_size if same_size else None,
        )
        self._execute(observation, decision, timings, extra)
        self.result.replayed += 1
        return True

    def _model_step(self, observation: Observation, timings: dict[str, float],
                    extra: dict[str, Any]) -> bool:
        policy = self.policy
        if policy is None:
            raise UsageError("on_mismatch='model' needs a policy to ask")
        start = time.perf_counter()
        try:
            decision = policy.decide(self.trajectory.task, observation, list(self.history))
        except ParseError as exc:  # recorded and fed back; the replay goes on
            timings["decide"] = time.perf_counter() - start
            self._record(observation=observation, decision=None, outcome=None, error=str(exc),
                         timings=timings, executed=False, raw=exc.text, extra=extra)
            self.history.append(HistoryEntry(actions=(), raw=exc.text, feedback=str(exc),
                                             screen_size=(observation.width, observation.height)))
            return True
        timings["decide"] = time.perf_counter() - start
        self.result.model_steps += 1
        final = next((a for a in decision.actions if isinstance(a, FINAL_ACTIONS)), None)
        self._execute(observation, decision, timings, extra)
        if isinstance(final, Terminate):
            self.result.status = final.status
            return False
        if isinstance(final, Answer):
            self.result.status, self.result.answer = "success", final.text
            return False
        return True

    def _observe(self, recorded: Image | None) -> tuple[Observation, float | None]:
        """The live screen, re-read for up to ``mismatch_wait`` s while it differs."""
        deadline = time.monotonic() + self.mismatch_wait
        while True:
            observation = self.env.observe(settle=self.settle)
            if recorded is None:  # the run died before this screenshot was written
                return observation, None
            similarity = screen_similarity(recorded, observation.image)
            if similarity >= self.threshold or time.monotonic() >= deadline:
                return observation, similarity
            time.sleep(0.2)

    def _execute(self, observation: Observation, decision: Decision, timings: dict[str, float],
                 extra: dict[str, Any]) -> None:
        """Perform the decision's env actions and record the step (an ActionError is recorded)."""
        start = time.perf_counter()
        outcome: Outcome | None = None
        error = None
        try:
            for action in decision.actions:
                if isinstance(action, FINAL_ACTIONS):  # ends the decision, as in the loop
                    break
                outcome = _merge(outcome, self.env.execute(action))
        except ActionError as exc:
            error = str(exc)
        timings["execute"] = time.perf_counter() - start
        self._record(observation=observation, decision=decision, outcome=outcome, error=error,
                     timings=timings, executed=outcome is not None, extra=extra)
        self.history.append(HistoryEntry(
            actions=decision.actions, raw=decision.raw, thought=decision.thought, feedback=error,
            screen_size=(observation.width, observation.height),
        ))

    def _record(self, **fields: Any) -> None:
        if self.recorder is not None:
            self.recorder.record_step(index=self.index, feedback=fields.get("error"), **fields)


def _merge(first: Outcome | None, second: Outcome) -> Outcome:
    if first is None:
        return second
    from qwen_gui_agent.actions.observation import Outcome

    return Outcome(duration_s=first.duration_s + second.duration_s, info={**first.info, **second.info})
