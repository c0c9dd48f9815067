"""The perceive-reason-act loop: observe, decide, guard, execute, record, repeat.

:class:`Agent` drives one env with one policy. ``run(task)`` goes until the
run ends; scripts that want control call ``start(task)``, then ``step()``
until ``done``, and may end a run early with ``finish(...)``. Either way the
same stop rules apply and the trajectory on disk holds every finished step.

How a run ends (``RunResult.status``):

- ``success`` / ``failure``: the model terminated (an ``answer`` is a success);
- ``max_steps``: the step limit was reached;
- ``stuck``: the same action on an unchanged screen, even after a hint;
- ``failure`` also when the model produced ``max_consecutive_errors``
  unusable outputs or failing actions in a row (each one is first fed back);
- ``error``: the env became unusable, or something unexpected raised;
- ``interrupted``: Ctrl-C (``KeyboardInterrupt``). ``run()`` returns the
  result; ``step()`` finalises the run and re-raises, so a script's own loop
  stops as Python scripts do;
- ``timeout``: a caller driving ``step()`` ran out of time and ended the run
  with ``finish("timeout")`` (the batch runner's ``--task-timeout``).

With ``dry_run`` nothing is executed: the screen never changes, so such runs
end by the step limit, stuck detection or the model terminating.
"""

from __future__ import annotations

import json
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Literal, get_args

from qwen_gui_agent.actions.decision import HistoryEntry
from qwen_gui_agent.actions.dialects import DEFAULT_FAMILY
from qwen_gui_agent.actions.frame import ImageBounds
from qwen_gui_agent.actions.models import FINAL_ACTIONS, Answer, Terminate
from qwen_gui_agent.actions.observation import Outcome
from qwen_gui_agent.actions.tools import tool_name_for
from qwen_gui_agent.agent.guard import Guard, Verdict
from qwen_gui_agent.agent.secrets import SecretEnv, Secrets
from qwen_gui_agent.agent.stuck import StuckDetector
from qwen_gui_agent.errors import ActionError, EndRun, EnvError, ModelError, ParseError, UsageError
from qwen_gui_agent.model.policy import ModelPolicy, Policy

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import Decision
    from qwen_gui_agent.actions.models import Action
    from qwen_gui_agent.actions.observation import Observation
    from qwen_gui_agent.envs.base import Env
    from qwen_gui_agent.trajectories.recorder import Recorder

RunStatus = Literal[
    "success", "failure", "max_steps", "stuck", "error", "interrupted", "completed", "mismatch",
    "timeout",
]
"""``completed`` and ``mismatch`` are a replay's (see :mod:`.replay`): a policy ends a run
with them by raising :class:`~qwen_gui_agent.errors.EndRun`."""
RUN_STATUSES: tuple[str, ...] = get_args(RunStatus)


@dataclass
class StepResult:
    """What happened in one step. Strings are already redacted of secrets."""

    index: int
    """1-based."""
    observation: Observation | None = None
    """The screen this step acted on. Only the latest step keeps it: a long run must not
    hold every screenshot (take what you need in ``on_step``)."""
    decision: Decision | None = None
    """None when the policy's output could not be used (see ``error`` and ``unusable``)."""
    unusable: Decision | None = None
    """What the policy had when its output could not be used: the prompt, token counts
    and timings, without actions (None when it had nothing to say)."""
    raw: str = ""
    """The model's text (also when it could not be parsed)."""
    verdicts: list[Verdict] = field(default_factory=list)
    """The guard's verdict on each action it was asked about, in order."""
    outcomes: list[Outcome] = field(default_factory=list)
    """One per action the env performed."""
    executed: bool = False
    """Whether at least one action reached the env (never under ``dry_run``)."""
    error: str | None = None
    feedback: str | None = None
    """What the model is told about this step in the next prompt."""
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase: observe, decide, guard, execute; ``total`` (the step up to
    recording) and ``record``."""
    status: RunStatus | None = None
    """Set when this step ended the run."""
    message: str = ""
    """Why the run ended, when it did here."""
    answer: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    """Facts the policy (``Decision.extra``) or its stop (``EndRun.extra``) gave for the record."""

    @property
    def actions(self) -> tuple[Action, ...]:
        """The decided actions, as the model saw them (secret placeholders unexpanded)."""
        return self.decision.actions if self.decision is not None else ()

    @property
    def done(self) -> bool:
        return self.status is not None


@dataclass
class RunResult:
    """How a run ended. ``trajectory_path`` is the run directory, None when not recording."""

    status: RunStatus
    answer: str | None
    steps: list[StepResult]
    trajectory_path: Path | None
    message: str
    task: str = ""
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status == "success"


StepCallback = Callable[[StepResult], None]


class Agent:
    """Runs a policy on an env until the task ends.

    - ``max_steps``: steps before the run ends as ``max_steps``.
    - ``record_dir``: a root folder; each run records into a new directory
      under it (``RunResult.trajectory_path``). None records nothing.
    - ``guard``: a :class:`~.guard.Guard` (default: allow everything). Under
      ``dry_run`` it still asks / denies, so a dry run shows what would be asked.
    - ``secrets``: :class:`~.secrets.Secrets`; the model sees ``{NAME}``, the
      env gets the value, every string written is redacted.
    - ``settle``: observe with ``settle=True`` (wait for a still screen).
    - ``dry_run``: decide and record, execute nothing.
    - ``on_step``: called with each :class:`StepResult` once it is recorded.
    - ``max_consecutive_errors``: unusable outputs / failing actions in a row
      (each fed back to the model) before the run ends as ``failure``.
    - ``stuck_limit``: identical steps on an unchanged screen before the hint;
      one more ends the run as ``stuck``; None turns stuck detection off.
    - ``history_images``: keep the last N screenshots in the history handed to
      the policy; by default the policy's own ``history_images`` (else 0).
    - ``run_label``: appended to the run directory's name and kept in the header.
    - ``header``: further keys for the trajectory header (e.g. env options).
    """

    def __init__(
        self,
        policy: Policy,
        env: Env,
        *,
        max_steps: int = 30,
        record_dir: Path | str | None = None,
        guard: Guard | None = None,
        secrets: Secrets | None = None,
        settle: bool = False,
        dry_run: bool = False,
        on_step: StepCallback | None = None,
        max_consecutive_errors: int = 3,
        stuck_limit: int | None = 3,
        history_images: int | None = None,
        run_label: str | None = None,
        header: dict[str, Any] | None = None,
    ) -> None:
        if not callable(getattr(policy, "decide", None)):
            raise UsageError(f"policy must have a decide(task, observation, history) method, "
                            f"got {type(policy).__name__}")
        for method in ("observe", "execute"):
            if not callable(getattr(env, method, None)):
                raise UsageError(f"env must have an {method}() method (see envs.base.Env), "
                                f"got {type(env).__name__}")
        if max_steps < 1:
            raise UsageError("max_steps must be at least 1")
        if max_consecutive_errors < 1:
            raise UsageError("max_consecutive_errors must be at least 1")
        if history_images is None:
            history_images = int(getattr(policy, "history_images", 0) or 0)
        if history_images < 0:
            raise UsageError("history_images must be 0 or more")
        self.policy = policy
        self.env = env
        self.max_steps = max_steps
        self.record_dir = Path(record_dir) if record_dir is not None else None
        self.guard = guard if guard is not None else Guard()
        self.secrets = secrets if secrets is not None else Secrets()
        self._env = SecretEnv(env, self.secrets) if self.secrets else env
        """What the loop acts on: ``env`` behind the secrets wrapper when there are secrets."""
        self.settle = settle
        self.dry_run = dry_run
        self.on_step = on_step
        self.max_consecutive_errors = max_consecutive_errors
        self.history_images = history_images
        self.run_label = run_label
        self.extra_header = dict(header or {})
        self._stuck = StuckDetector(limit=stuck_limit) if stuck_limit is not None else None
        self._task: str | None = None
        self._model_task = ""
        self._history: list[HistoryEntry] = []
        self._steps: list[StepResult] = []
        self._recorder: Recorder | None = None
        self._result: RunResult | None = None
        self._errors_in_row = 0
        self._started = 0.0

    # -- state ------------------------------------------------------------------------
    @property
    def task(self) -> str | None:
        """The task of the current (or last) run, as given to ``start``."""
        return self._task

    @property
    def model_task(self) -> str:
        """The task text the policy receives (secrets redacted, placeholders explained)."""
        return self._model_task

    @property
    def history(self) -> tuple[HistoryEntry, ...]:
        return tuple(self._history)

    @property
    def steps(self) -> tuple[StepResult, ...]:
        return tuple(self._steps)

    @property
    def done(self) -> bool:
        """True once the current run has ended (or none was started)."""
        return self._result is not None or self._task is None

    @property
    def result(self) -> RunResult | None:
        """The finished run's result; None while it runs."""
        return self._result

    @property
    def trajectory_path(self) -> Path | None:
        return self._recorder.path if self._recorder is not None else None

    # -- driving ----------------------------------------------------------------------
    def run(self, task: str) -> RunResult:
        """Run ``task`` to the end. Ctrl-C ends it as ``interrupted`` and returns."""
        self.start(task)
        try:
            while self._result is None:
                self.step()
        except KeyboardInterrupt:
            if self._result is None:
                self._finish("interrupted", "interrupted by the user (Ctrl-C)")
        assert self._result is not None
        return self._result

    def start(self, task: str, *, run_dir: Path | str | None = None) -> None:
        """Begin a new run of ``task`` (opening its trajectory when recording).

        ``run_dir`` records this run into exactly that directory (it must hold no
        trajectory yet), with or without ``record_dir``: a batch names each task's
        folder after the task instead of the time.
        """
        if self._task is not None and self._result is None:
            raise UsageError("a run is in progress; finish() it before starting another")
        if not task or not task.strip():
            raise UsageError("the task is empty")
        self._task = task
        task_text = self.secrets.redact(task)
        note = self.secrets.prompt_note()
        self._model_task = f"{task_text}\n\n{note}" if note else task_text
        self._history, self._steps = [], []
        self._result, self._recorder = None, None
        self._errors_in_row = 0
        if self._stuck is not None:
            self._stuck.reset()
        self._started = time.perf_counter()
        if run_dir is not None or self.record_dir is not None:
            from qwen_gui_agent.trajectories.recorder import Recorder, new_run_dir

            if run_dir is None:
                assert self.record_dir is not None
                run_dir = new_run_dir(self.record_dir, self.run_label or task_text)
            self._recorder = Recorder(
                run_dir, self._header(), redact=self.secrets.redact if self.secrets else None
            )

    def step(self) -> StepResult:
        """Perform one step. After it, ``done`` says whether the run ended (``step.status``)."""
        if self._task is None:
            raise UsageError("call start(task) before step()")
        if self._result is not None:
            raise UsageError(f"the run has ended ({self._result.status}); start() a new one")
        step = StepResult(index=len(self._steps) + 1)
        started = time.perf_counter()
        try:
            self._perform(step)
            step.timings["total"] = time.perf_counter() - started
            self._record(step)
            self._remember(step)
            if step.status is not None:
                self._finish(step.status, step.message, step.answer)
            if self.on_step is not None:
                self.on_step(step)
        except KeyboardInterrupt:
            self._abort(step, "interrupted", "interrupted by the user (Ctrl-C)")
            raise
        except Exception as exc:  # anything unexpected still leaves a finished trajectory
            message = self.secrets.redact(
                f"unexpected {type(exc).__name__}: {exc}\n" + _traceback_summary(exc)
            )
            self._abort(step, "error", message)
        return step

    def finish(
        self, status: RunStatus = "interrupted", message: str = "", answer: str | None = None
    ) -> RunResult:
        """End the current run early (a script's decision); returns its result.

        Calling it after the run has ended returns the existing result.
        """
        if self._task is None:
            raise UsageError("no run was started")
        if self._result is None:
            self._finish(status, message or f"ended by the caller ({status})", answer)
        assert self._result is not None
        return self._result

    # -- one step ---------------------------------------------------------------------
    def _perform(self, step: StepResult) -> None:
        """Fill ``step``: observe, decide, guard, execute. Sets ``step.status`` to stop."""
        timings = step.timings
        clock = time.perf_counter()
        try:
            observation = self._env.observe(settle=self.settle)
        except EnvError as exc:
            self._stop(step, "error", f"the env failed while observing: {exc}")
            return
        finally:
            timings["observe"] = time.perf_counter() - clock
        step.observation = observation
        late = _refusals(observation.extra)
        if late and self._history:  # refused after the last action returned: its step says so
            previous = self._history[-1]
            previous.feedback = f"{previous.feedback} {late}" if previous.feedback else late
        self._decide_and_act(step, observation)
        if step.error is None:
            self._errors_in_row = 0
        elif step.status is None:
            self._errors_in_row += 1
            if self._errors_in_row >= self.max_consecutive_errors:
                # Not "failure": the policy never said the task failed; it could not be used.
                self._stop(step, "error", (
                    f"{self._errors_in_row} unusable steps in a row "
                    f"(max_consecutive_errors={self.max_consecutive_errors}); last: {step.error}"
                ))
        if step.status is None and step.index >= self.max_steps:
            self._stop(step, "max_steps", f"reached the step limit ({self.max_steps})")

    def _decide_and_act(self, step: StepResult, observation: Observation) -> None:
        timings = step.timings
        clock = time.perf_counter()
        try:
            decision = self.policy.decide(self._model_task, observation, self.history)
        except ParseError as exc:
            timings["decide"] = time.perf_counter() - clock
            step.raw = self.secrets.redact(exc.text or "")
            step.unusable = exc.output
            if exc.output is not None:
                step.extra.update(exc.output.extra)
            step.error = step.feedback = self.secrets.redact(f"Unusable output: {exc}")
            return
        except ModelError as exc:  # the backend is gone: a known failure, said plainly
            timings["decide"] = time.perf_counter() - clock
            self._stop(step, "error", f"the model could not answer: {exc}")
            return
        except EndRun as end:
            timings["decide"] = time.perf_counter() - clock
            step.error = end.error
            step.extra.update(end.extra)
            self._stop(step, end.status, end.message)  # type: ignore[arg-type]
            return
        timings["decide"] = time.perf_counter() - clock
        step.raw = self.secrets.redact(decision.raw)
        if not decision.actions:
            step.error = step.feedback = "Unusable output: it held no action. Answer with one tool call."
            return
        step.decision = decision
        step.extra.update(decision.extra)
        stuck = self._stuck
        state = stuck.update(observation.image, decision.actions) if stuck is not None else "ok"
        if state == "stuck":
            self._stop(step, "stuck", (
                f"the same action was chosen {stuck.repeats} times on an unchanged screen"
            ))
            return
        if state == "hint":
            step.feedback = stuck.hint()  # type: ignore[union-attr]
            return

        timings["guard"] = timings["execute"] = 0.0
        for action in decision.actions:
            clock = time.perf_counter()
            verdict = self.guard.check(action, decision)
            timings["guard"] += time.perf_counter() - clock
            step.verdicts.append(verdict)
            if not verdict.allowed:
                step.feedback = self.secrets.redact(verdict.feedback or "")
                return
            if isinstance(action, FINAL_ACTIONS):
                self._final(step, action)
                return
            if self.dry_run:
                continue
            clock = time.perf_counter()
            try:
                outcome = self._env.execute(action)
            except ActionError as exc:
                step.error = str(exc)
                step.feedback = f"The action failed: {step.error}"
                return
            except EnvError as exc:
                self._stop(step, "error", f"the env failed while acting: {exc}")
                return
            finally:
                timings["execute"] += time.perf_counter() - clock
            step.executed = True
            step.outcomes.append(outcome)
            refused = _refusals(outcome.info)
            if refused:  # the action went through, but the env kept a page it led to out
                step.feedback = refused

    def _final(self, step: StepResult, action: Answer | Terminate) -> None:
        if isinstance(action, Answer):
            step.answer = self.secrets.redact(action.text)
            self._stop(step, "success", "the policy answered")
        else:
            self._stop(step, action.status, f"the policy terminated with {action.status}")

    def _stop(self, step: StepResult, status: RunStatus, message: str) -> None:
        step.status = status
        step.message = self.secrets.redact(message)

    # -- bookkeeping ------------------------------------------------------------------
    def _remember(self, step: StepResult) -> None:
        """Add the step to the history the policy sees next.

        The previous step lets go of its screenshot; the history keeps only the
        ones the next prompts show (``history_images``).
        """
        observation = step.observation
        if self._steps:
            self._steps[-1].observation = None
        self._history.append(HistoryEntry(
            actions=step.actions,
            raw=step.raw,
            thought=step.decision.thought if step.decision is not None else None,
            feedback=step.feedback,
            screen_size=observation.image.size if observation is not None else None,
            observation=observation if self.history_images else None,
        ))
        self._steps.append(step)
        if self.history_images and len(self._history) > self.history_images:
            self._history[-self.history_images - 1].observation = None

    def _record(self, step: StepResult) -> None:
        if self._recorder is None or step.observation is None:
            return
        clock = time.perf_counter()
        self._recorder.record_step(
            index=step.index,
            observation=step.observation,
            decision=step.decision or step.unusable,
            outcome=Outcome.merged(step.outcomes),
            error=step.error,
            feedback=step.feedback,
            timings=step.timings,
            executed=step.executed,
            raw=step.raw,
            extra=_step_extra(step),
        )
        step.timings["record"] = time.perf_counter() - clock

    def _abort(self, step: StepResult, status: RunStatus, message: str) -> None:
        """End the run from an exception raised mid-step, keeping what the step saw.

        The exception may have come at any point, also halfway through recording
        the step or just after: the step is written and remembered exactly once.
        """
        if self._result is not None:  # raised by on_step after the run had ended
            if status == "error":
                self._result.message += f"\n(on_step then raised: {message})"
            return
        step.status, step.message = status, message
        if step.error is None:
            step.error = message
        if self._recorder is not None and self._recorder.last_index != step.index:
            try:
                self._record(step)
            except Exception as exc:  # the run still ends with a result
                message = f"{message}\n(this step could not be recorded: {exc})"
        if not any(s is step for s in self._steps):  # interrupted before _remember
            self._remember(step)
        self._finish(status, message, step.answer)

    def _finish(self, status: RunStatus, message: str, answer: str | None = None) -> None:
        message, answer = self.secrets.redact(message), answer and self.secrets.redact(answer)
        recorder, self._recorder = self._recorder, None
        self._result = RunResult(
            status=status, answer=answer, steps=list(self._steps),
            trajectory_path=recorder.path if recorder is not None else None,
            message=message, task=self._task or "",
            duration_s=time.perf_counter() - self._started,
        )
        if recorder is None:
            return
        try:
            try:
                recorder.finish(status=status, answer=answer, message=message,
                                steps=recorder.steps_written)
            finally:
                recorder.close()
        except Exception as exc:  # keep the result; say the trajectory is damaged
            self._result.message += f"\n(the trajectory could not be finalised: {exc})"

    def _header(self) -> dict[str, Any]:
        policy = self.policy
        header: dict[str, Any] = {
            "task": self._model_task,
            "env": self.env.kind,
            "env_options": dict(getattr(self.env, "options", None) or {}),
            "tool_name": tool_name_for(self.env.kind),
            "family": policy.dialect.name if isinstance(policy, ModelPolicy) else DEFAULT_FAMILY,
            "image_bounds": policy.image_bounds if isinstance(policy, ModelPolicy) else ImageBounds(),
            "policy": _policy_info(policy),
            "agent": {
                "max_steps": self.max_steps, "guard": self.guard.mode, "dry_run": self.dry_run,
                "settle": self.settle, "max_consecutive_errors": self.max_consecutive_errors,
                "stuck_limit": self._stuck.limit if self._stuck else None,
                "history_images": self.history_images,
                "secrets": list(self.secrets.names),
            },
        }
        if self.run_label:
            header["label"] = self.run_label
        header.update(self.extra_header)
        return header


_POLICY_SETTINGS = (
    "name", "model", "url", "history_images", "extensions",
    "generate_kwargs", "body",
)
"""Policy attributes worth keeping in the header (JSON-ready ones only; never credentials)."""


def _policy_info(policy: Policy) -> dict[str, Any]:
    """The policy's class and its plain settings, for the trajectory header."""
    cls = type(policy)
    info: dict[str, Any] = {"class": f"{cls.__module__}.{cls.__qualname__}"}
    for name in _POLICY_SETTINGS:
        value = getattr(policy, name, None)
        if value is None or callable(value):
            continue
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            continue
        info[name] = list(value) if isinstance(value, tuple) else value
    return info


def _refusals(facts: dict[str, Any]) -> str:
    """What an env refused to open (``refused``: sentences written for the model), as one note."""
    refused = facts.get("refused") or []
    return " ".join(str(sentence) for sentence in refused)


def _step_extra(step: StepResult) -> dict[str, Any]:
    extra: dict[str, Any] = dict(step.extra)
    guarded = [v for v in step.verdicts if v.kind != "allow"]
    if guarded:
        extra["guard"] = [
            {"kind": v.kind, "allowed": v.allowed, "asked": v.asked, "reason": v.reason}
            for v in guarded
        ]
    if step.status is not None:
        extra["ended_run"] = step.status
    env_actions = [a for a in step.actions if not isinstance(a, FINAL_ACTIONS)]
    if step.executed and len(step.outcomes) < len(env_actions):
        # A refusal, a failure or a final action cut the decision short: replay must
        # perform only this prefix, never the declined action or the ones after it.
        extra["performed"] = len(step.outcomes)
    return extra


def _traceback_summary(exc: BaseException, frames: int = 4) -> str:
    """The last few frames of ``exc``'s traceback, one line each."""
    summary = traceback.extract_tb(exc.__traceback__)[-frames:]
    return "\n".join(f"  {f.filename}:{f.lineno} in {f.name}" for f in summary)
