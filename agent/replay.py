"""Replaying a recorded run: the same Agent loop, driven by a policy that plays the recording.

:class:`ReplayPolicy` answers each step with the actions the recorded run
performed at that point, after checking that the live screen is the one the
recording showed (:func:`~qwen_gui_agent.envs.screens.screen_similarity`).
Below ``threshold`` the step is a *mismatch* and ``on_mismatch`` decides:
``stop`` the replay, ``continue`` with the recorded actions anyway, or hand
that step to the ``model`` (a fallback policy asked with the run's task and
the replay's own history). A recorded step without a screenshot cannot be
verified and counts as a mismatch. A recorded step whose actions the guard,
the env or its allow-lists refused was not reproduced either: under ``stop``
the replay ends there, otherwise it goes on and ends as a mismatch.

Because a replay is an ordinary run of :class:`~qwen_gui_agent.agent.loop.Agent`,
everything a run has applies to it unchanged: the guard (``--confirm``) sees
every action, secrets are typed through the same env wrapper, steps are
recorded the same way (header key ``replay`` names the source) and the
result is a run status: ``completed`` when every recorded step was replayed
from the recording, ``mismatch`` when the replay stopped at (or the model had
to stand in for) a screen the recording does not show, or the model's own
``success`` / ``failure`` when it ended the task.

The recording is untrusted input: only its actions are replayed, through the
guard; the env, its allow-lists and everything it may do come from the caller.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qwen_gui_agent.actions.decision import Decision
from qwen_gui_agent.actions.models import FINAL_ACTIONS
from qwen_gui_agent.envs.base import EnvWrapper
from qwen_gui_agent.envs.screens import screen_similarity
from qwen_gui_agent.errors import EndRun, ParseError, UsageError
from qwen_gui_agent.trajectories.reader import Trajectory, load_trajectory

if TYPE_CHECKING:
    from PIL.Image import Image

    from qwen_gui_agent.actions.decision import HistoryEntry
    from qwen_gui_agent.actions.dialects import Dialect
    from qwen_gui_agent.actions.frame import ImageBounds
    from qwen_gui_agent.actions.models import Action
    from qwen_gui_agent.actions.observation import Observation
    from qwen_gui_agent.agent.guard import Guard
    from qwen_gui_agent.agent.secrets import Secrets
    from qwen_gui_agent.envs.base import Env
    from qwen_gui_agent.model.policy import Policy
    from qwen_gui_agent.trajectories.format import StepRecord

OnMismatch = Literal["stop", "continue", "model"]
ON_MISMATCH: tuple[str, ...] = ("stop", "continue", "model")

DEFAULT_THRESHOLD = 0.97
"""Similarity below which the live screen no longer counts as the recorded one.

:func:`screen_similarity` is the share of a 128-pixel-wide greyscale thumbnail
whose cells agree; 0.97 therefore tolerates a blinking caret, a ticking clock
or a hover highlight (well under 3 % of the screen) but flags a different
page, dialog or layout.
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


def performed_actions(step: StepRecord) -> list[Action]:
    """The env actions the recorded run actually performed in ``step`` (none if it performed none).

    ``extra.performed`` (written by the loop when a refusal, a failure or a final
    action cut a multi-action decision short) bounds them: replaying a declined
    action, or the ones after it, would do what the user said no to.
    """
    if not step.executed:
        return []
    performed = step.extra.get("performed")
    actions = step.actions if performed is None else step.actions[:performed]
    return [a for a in actions if not isinstance(a, FINAL_ACTIONS)]


def replayable_steps(trajectory: Trajectory) -> list[StepRecord]:
    """The recorded steps that performed something; ``UsageError`` when there are none."""
    steps = [step for step in trajectory.steps if performed_actions(step)]
    if not steps:
        raise UsageError(f"the run in {trajectory.path} performed no action: there is nothing "
                         "to replay")
    return steps


@dataclass(frozen=True)
class Mismatch:
    """A recorded step whose screen did not match the live one."""

    index: int
    """The recorded step's index."""
    similarity: float | None
    """None when the recorded step has no screenshot to compare with."""


@dataclass(frozen=True)
class NotPerformed:
    """A recorded step whose actions were refused or failed when replayed."""

    index: int
    """The recorded step's index."""
    reason: str
    """What the loop fed back: the guard's refusal or the env's error."""


class ReplayPolicy:
    """A policy that plays a recorded run back, step by step (see the module doc).

    ``speed`` multiplies the recorded pace (2 twice as fast, 0 without pauses);
    ``fallback`` is the policy asked on a mismatch when ``on_mismatch="model"``.
    ``replayed``, ``model_steps``, ``mismatches`` and ``not_performed`` tell
    afterwards how it went.
    """

    def __init__(self, trajectory: Trajectory, *, on_mismatch: OnMismatch = "stop",
                 fallback: Policy | None = None, threshold: float = DEFAULT_THRESHOLD,
                 speed: float = 1.0) -> None:
        if on_mismatch not in ON_MISMATCH:
            raise UsageError(f"on_mismatch must be stop, continue or model, not {on_mismatch!r}")
        if on_mismatch == "model" and fallback is None:
            raise UsageError("on_mismatch='model' needs a policy to ask")
        if speed < 0:
            raise UsageError(f"speed must be >= 0 (0 = as fast as possible), not {speed}")
        if not 0 < threshold <= 1:
            raise UsageError(f"threshold must be in (0, 1], not {threshold}")
        self.trajectory = trajectory
        self.steps = replayable_steps(trajectory)
        self.on_mismatch, self.fallback = on_mismatch, fallback
        self.threshold, self.speed = threshold, speed
        self.replayed = 0
        self.model_steps = 0
        self.mismatches: list[Mismatch] = []
        self.not_performed: list[NotPerformed] = []
        self._next = 0
        self._played: int | None = None  # the recorded step the last decision played back
        self._pace: tuple[float, float] | None = None  # (recorded timestamp, live monotonic time)

    @property
    def image_bounds(self) -> ImageBounds:
        """The recorded run's bounds: its model calls are in frames of these."""
        return self.trajectory.header.image_bounds

    @property
    def dialect(self) -> Dialect:
        """The recorded run's model family: the replay's record speaks it too."""
        return self.trajectory.header.dialect

    def expected_screen(self) -> Image | None:
        """The screenshot the next recorded step was decided on (None if none is left or it is missing)."""
        if self._next >= len(self.steps):
            return None
        return self.trajectory.image(self.steps[self._next])

    def matches(self, image: Image) -> bool:
        """Whether ``image`` shows the screen the next recorded step expects."""
        expected = self.expected_screen()
        return expected is not None and screen_similarity(expected, image) >= self.threshold

    def decide(self, task: str, observation: Observation,
               history: Sequence[HistoryEntry]) -> Decision:
        self._check_played(history)
        if self._next >= len(self.steps):
            raise EndRun(*self._ending())
        step = self.steps[self._next]
        self._keep_pace(step)
        expected = self.trajectory.image(step)
        similarity = None if expected is None else screen_similarity(expected, observation.image)
        matched = similarity is not None and similarity >= self.threshold
        facts: dict[str, Any] = {"source_step": step.index, "similarity": similarity,
                                 "matched": matched}
        self._next += 1
        if not matched:
            self.mismatches.append(Mismatch(step.index, similarity))
            if self.on_mismatch == "stop":
                raise EndRun("mismatch", self._mismatch_message(step, similarity),
                             error=self._mismatch_message(step, similarity), extra={"replay": facts})
            if self.on_mismatch == "model":
                assert self.fallback is not None  # checked in __init__
                self.model_steps += 1
                facts["by"] = "model"
                try:
                    decision = self.fallback.decide(task, observation, history)
                except ParseError as exc:  # recorded and fed back by the loop, with the facts
                    exc.output = exc.output or Decision(actions=(), raw=exc.text)
                    exc.output.extra["replay"] = facts
                    raise
                decision.extra["replay"] = facts
                return decision
        self.replayed += 1
        self._played = step.index
        size = (observation.width, observation.height)
        same_size = size == step.screen_size
        return Decision(
            actions=tuple(scale_action(a, step.screen_size, size) for a in performed_actions(step)),
            raw=step.raw or "", thought=step.thought,
            model_calls=step.model_calls if same_size else [],
            model_size=step.model_size if same_size else None,
            extra={"replay": {**facts, "by": "recording"}},
        )

    def _check_played(self, history: Sequence[HistoryEntry]) -> None:
        """Count the step just played back as not performed when the loop fed back a refusal."""
        index, self._played = self._played, None
        if index is None or not history or history[-1].feedback is None:
            return
        reason = history[-1].feedback
        self.replayed -= 1
        self.not_performed.append(NotPerformed(index, reason))
        if self.on_mismatch == "stop":
            raise EndRun("mismatch", f"recorded step {index} could not be performed: {reason}")

    def _keep_pace(self, step: StepRecord) -> None:
        """Sleep until the recorded gap since the previous step (divided by ``speed``) has passed."""
        now = time.monotonic()
        if self._pace is not None and self.speed > 0:
            recorded_gap = step.observation.timestamp - self._pace[0]
            time.sleep(max(0.0, self._pace[1] + recorded_gap / self.speed - now))
        self._pace = (step.observation.timestamp, time.monotonic())

    def _mismatch_message(self, step: StepRecord, similarity: float | None) -> str:
        if similarity is None:
            return (f"recorded step {step.index} has no screenshot, so the live screen cannot be "
                    "checked against it")
        return (f"the screen differs from recorded step {step.index}: similarity "
                f"{similarity:.3f} < threshold {self.threshold}")

    def _ending(self) -> tuple[str, str]:
        """The run status once the recording is used up."""
        total = len(self.steps)
        if self.model_steps:
            return "mismatch", (f"the recording was not reproduced: the model stood in for "
                                f"{self.model_steps} of {total} recorded step(s)")
        if self.not_performed:
            first = self.not_performed[0]
            return "mismatch", (f"the recording was not reproduced: {len(self.not_performed)} of "
                                f"{total} recorded step(s) could not be performed (step "
                                f"{first.index}: {first.reason})")
        differed = f"; {len(self.mismatches)} screen(s) differed" if self.mismatches else ""
        return "completed", f"all {total} recorded step(s) were replayed{differed}"


class _AwaitRecordedScreen(EnvWrapper):
    """Observes until the screen is the one the recording expects, for up to ``wait`` seconds.

    A page can load more slowly than when it was recorded: looking again for a
    moment tells a slow screen from a different one.
    """

    def __init__(self, env: Env, policy: ReplayPolicy, wait: float) -> None:
        super().__init__(env)
        self.policy, self.wait = policy, wait

    def observe(self, settle: bool = False) -> Observation:
        deadline = time.monotonic() + self.wait
        observation = self.env.observe(settle)
        while (time.monotonic() < deadline and self.policy.expected_screen() is not None
               and not self.policy.matches(observation.image)):
            time.sleep(0.2)
            observation = self.env.observe(settle)
        return observation


@dataclass
class ReplayResult:
    """How a replay went: the run's status plus what was replayed and what was not.

    ``status``: ``completed``, ``mismatch``, the model's ``success`` / ``failure``,
    or ``error`` / ``interrupted`` as for any run. ``trajectory_path`` is the
    replay's own run directory (None with ``record=False``).
    """

    status: str
    trajectory_path: Path | None
    replayed: int = 0
    """Recorded steps re-executed from the recording."""
    model_steps: int = 0
    """Recorded steps handed to the model after a mismatch (its answer usable or not)."""
    mismatches: list[Mismatch] = field(default_factory=list)
    not_performed: list[NotPerformed] = field(default_factory=list)
    """Recorded steps whose actions were refused or failed (not counted in ``replayed``)."""
    answer: str | None = None
    message: str | None = None

    @property
    def steps(self) -> int:
        return self.replayed + self.model_steps


def replay(
    run: Path | str | Trajectory,
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
    guard: Guard | None = None,
    secrets: Secrets | None = None,
) -> ReplayResult:
    """Re-execute the actions recorded in ``run`` (a run folder, or a loaded trajectory) on ``env``.

    Keyword arguments (one CLI flag each):

    - ``on_mismatch``: ``stop`` | ``continue`` | ``model`` (``model`` needs ``policy``).
    - ``speed``: multiplies the recorded pace; 2 replays twice as fast, 0 as fast
      as possible.
    - ``threshold``: :func:`screen_similarity` below which a screen mismatches.
    - ``record_dir``: where the replay's own run directory is created (default:
      next to the recorded run); ``record=False`` records nothing.
    - ``settle``: wait for the screen to stop changing before comparing;
      ``mismatch_wait``: seconds to keep looking for the recorded screen before a
      mismatch is declared (pages still loading).
    - ``guard``, ``secrets``: as for :class:`~qwen_gui_agent.agent.loop.Agent`.

    Coordinates are scaled when the live screen size differs from the recorded one.
    """
    from qwen_gui_agent.agent.loop import Agent

    trajectory = run if isinstance(run, Trajectory) else load_trajectory(run)
    player = ReplayPolicy(trajectory, on_mismatch=on_mismatch, fallback=policy,
                          threshold=threshold, speed=speed)
    root = Path(record_dir) if record_dir is not None else trajectory.path.parent
    agent = Agent(
        player, _AwaitRecordedScreen(env, player, mismatch_wait),
        max_steps=len(player.steps) + 1, record_dir=root if record else None,
        guard=guard, secrets=secrets, settle=settle, stuck_limit=None, run_label="replay",
        header={"replay": {"source": str(trajectory.path), "source_env": trajectory.header.env,
                           "on_mismatch": on_mismatch, "threshold": threshold, "speed": speed}},
    )
    note = secrets.prompt_note() if secrets else ""
    result = agent.run(trajectory.task.removesuffix(f"\n\n{note}") if note else trajectory.task)
    return ReplayResult(
        status=result.status, trajectory_path=result.trajectory_path, replayed=player.replayed,
        model_steps=player.model_steps, mismatches=list(player.mismatches),
        not_performed=list(player.not_performed),
        answer=result.answer, message=result.message,
    )
