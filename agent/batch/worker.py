"""An env worker: one env for its whole life, one task at a time (a Ray actor in a batch).

The class is plain Python; :mod:`.runner` makes it a Ray actor, so the logic
can be read (and called) without Ray. The env is created in the first call,
not in ``__init__``: Ray runs ``__init__`` on another thread than the methods,
and a Playwright browser must be used from the thread that made it. When Ray
restarts a worker whose process died, ``__init__`` runs again and the next
call makes a fresh env.

Per task the worker resets its env to the task's start state (a fresh tab on
the task's page; Home then the task's app; the task's program on the
display), then drives the :class:`~qwen_gui_agent.agent.loop.Agent` step by
step, checking between steps whether the batch is stopping or the task's time
is up: a step is never cut in half, so its trajectory is always complete.
"""

from __future__ import annotations

import os
import shlex
import signal
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwen_gui_agent.agent.batch.output import RUNS_DIR, check_manifest
from qwen_gui_agent.envs.base import EnvWrapper
from qwen_gui_agent.errors import ActionError, EnvError

if TYPE_CHECKING:
    from qwen_gui_agent.actions.models import Action
    from qwen_gui_agent.actions.observation import Observation, Outcome
    from qwen_gui_agent.agent.batch.policy import PolicySpec
    from qwen_gui_agent.agent.batch.tasks import TaskSpec
    from qwen_gui_agent.agent.loop import Agent, RunResult
    from qwen_gui_agent.agent.secrets import Secrets
    from qwen_gui_agent.envs.base import Env
    from qwen_gui_agent.model.policy import Policy

PHASES = ("observe", "decide", "execute", "record", "total")
"""Step timings summed per attempt (``total`` is a whole step up to recording)."""
PREPARE = "prepare"
"""The timing of an attempt's env reset to the task's start state (a fresh tab, Home...)."""


@dataclass(frozen=True)
class WorkerConfig:
    """Everything a worker needs, fixed for the batch (it survives a restart of the worker)."""

    kind: str
    env_options: dict[str, Any]
    """Backend options of this worker's env (a browser's viewport, an Android serial and adb port)."""
    policy: PolicySpec
    out_dir: str
    token: str
    """The batch's manifest token: proves ``out_dir`` is the driver's folder on this host."""
    screen: tuple[int, int] = (1280, 800)
    """Desktop: the size of the worker's private Xvfb display."""
    start_url: str | None = None
    """Browser: the page of tasks that name none."""
    max_steps: int = 30
    settle: bool = False
    secrets: Secrets | None = None
    task_timeout: float | None = None


@dataclass(frozen=True)
class WorkerInfo:
    index: int
    pid: int
    host: str
    env: str
    """What the worker drives, e.g. ``browser``, ``android emulator-5554``, ``desktop :3``."""

    def __str__(self) -> str:
        return f"{self.host} pid {self.pid} ({self.env})"


@dataclass(frozen=True)
class AttemptResult:
    """How one attempt at a task ended, as the worker reports it to the driver."""

    id: str
    attempt: int
    status: str
    steps: int
    answer: str | None
    message: str
    trajectory: str | None
    env_broken: bool = False
    """The env failed (browser crash, lost device, dead X server): retry on a fresh one."""
    duration_s: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    """Per phase of :data:`PHASES`, summed over the attempt's steps, and :data:`PREPARE`."""
    worker: str = ""


class _TaskEnv(EnvWrapper):
    """The worker's env as one task sees it.

    Its options describe the task's start state (a browser's ``url`` is the
    task's page, so ``qwen-agent replay`` starts where the task started), and
    an EnvError passing through marks the env broken so the worker replaces it.
    """

    def __init__(self, env: Env, options: dict[str, Any]) -> None:
        super().__init__(env)
        self._options = options
        self.broken: EnvError | None = None

    @property
    def options(self) -> dict[str, Any]:
        return self._options

    def observe(self, settle: bool = False) -> Observation:
        try:
            return self.env.observe(settle)
        except EnvError as exc:
            self.broken = exc
            raise

    def execute(self, action: Action) -> Outcome:
        try:
            return self.env.execute(action)
        except EnvError as exc:
            self.broken = exc
            raise


class EnvWorker:
    """Owns one env; runs the tasks the driver hands it, one at a time."""

    def __init__(self, index: int, config: WorkerConfig) -> None:
        self.index = index
        self.config = config
        self._stopping = threading.Event()
        self._env: Env | None = None
        self._display: Any = None
        self._policy: Policy | None = None
        self._started_program: subprocess.Popen[bytes] | None = None

    # -- what the driver calls ------------------------------------------------------------
    def start(self) -> WorkerInfo:
        """Check the output folder is here and open the env, so a broken set-up shows at once."""
        check_manifest(self.config.out_dir, self.config.token)
        self._ensure_env()
        return self.info()

    def info(self) -> WorkerInfo:
        env = self.config.kind
        if self.config.kind == "android":
            env += f" {self.config.env_options.get('serial')}"
        elif self._display is not None:
            env += f" {self._display.display}"
        return WorkerInfo(self.index, os.getpid(), socket.gethostname(), env)

    def stop(self) -> None:
        """End the running task after its current step (called on Ray's control thread)."""
        self._stopping.set()

    def close(self) -> None:
        """Close the env (and its display): no browser or Xvfb outlives the batch."""
        self._discard_env()

    def run(self, task: TaskSpec, attempt: int) -> AttemptResult:
        """One attempt at ``task``, recorded into ``OUT/runs/<id>``; never raises for the task's faults."""
        started = time.perf_counter()
        timeout = self.config.task_timeout
        deadline = time.monotonic() + timeout if timeout else None  # the env reset counts too
        report = _Report(task, attempt, str(self.info()), started)
        if self._stopping.is_set():
            return report("interrupted", "the batch was stopped before this task started")
        try:
            backend = self._ensure_env()
            env = _TaskEnv(backend, self._prepare(backend, task))
            report.prepare_s = time.perf_counter() - started
        except EnvError as exc:
            self._discard_env()
            return report("error", f"the env broke while setting up the task: {exc}", env_broken=True)
        except ActionError as exc:
            self._end_program()
            return report("error", f"could not set up the task's start state: {exc}")
        try:
            from qwen_gui_agent.agent.loop import Agent

            agent = Agent(self._ensure_policy(), env, max_steps=self.config.max_steps,
                          secrets=self.config.secrets, settle=self.config.settle,
                          header={"batch": {"id": task.id, "attempt": attempt, "env": task.env}})
            result = self._drive(agent, task, Path(self.config.out_dir) / RUNS_DIR / task.id, deadline)
        finally:
            self._end_program()
        broken = env.broken is not None
        if broken:
            self._discard_env()
        return report(result.status, result.message, result=result, env_broken=broken)

    # -- the loop with a deadline ---------------------------------------------------------
    def _drive(self, agent: Agent, task: TaskSpec, run_dir: Path, deadline: float | None) -> RunResult:
        agent.start(task.task, run_dir=run_dir)
        while not agent.done:
            if self._stopping.is_set():
                agent.finish("interrupted", "the batch was stopped (Ctrl-C) before the task ended")
            elif deadline is not None and time.monotonic() >= deadline:
                agent.finish("timeout", f"the task ran out of time (--task-timeout "
                                        f"{self.config.task_timeout:g}s) after {len(agent.steps)} step(s)")
            else:
                agent.step()
        assert agent.result is not None
        return agent.result

    # -- the env and the policy -----------------------------------------------------------
    def _ensure_env(self) -> Env:
        if self._env is not None:
            return self._env
        from qwen_gui_agent.envs import make_env

        options = dict(self.config.env_options)
        if self.config.kind == "desktop":
            from qwen_gui_agent.envs.desktop.xvfb import VirtualDisplay

            self._display = VirtualDisplay(*self.config.screen)
            options["display"] = self._display.display
        try:
            self._env = make_env(self.config.kind, **options)
        except BaseException:
            self._discard_env()
            raise
        return self._env

    def _discard_env(self) -> None:
        env, display, self._env, self._display = self._env, self._display, None, None
        self._end_program()
        for resource in (env, display):
            if resource is not None:
                try:
                    resource.close()
                except Exception:  # a broken env may fail to close; the fresh one matters
                    pass

    def _ensure_policy(self) -> Policy:
        if self._policy is None:
            self._policy = self.config.policy.build()
        return self._policy

    # -- a task's start state -------------------------------------------------------------
    def _prepare(self, env: Env, task: TaskSpec) -> dict[str, Any]:
        """Reset ``env`` to the task's start state; return the env options its trajectory keeps."""
        options = dict(env.options)
        if self.config.kind == "browser":
            url = task.env.get("url") or self.config.start_url or "about:blank"
            _fresh_tab(env, url)
            options["url"] = url
        elif self.config.kind == "android":
            from qwen_gui_agent.actions.models import OpenApp, SystemButton

            env.execute(SystemButton(button="home"))
            if "app" in task.env:
                env.execute(OpenApp(name=task.env["app"]))
            if "activity" in task.env:
                env.shell(f"am start -n {shlex.quote(task.env['activity'])}")  # type: ignore[attr-defined]
        elif "command" in task.env:
            self._start_program(task.env["command"])
        return options

    def _start_program(self, command: str | list[str]) -> None:
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        try:
            self._started_program = subprocess.Popen(
                argv, env=self._display.env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL, start_new_session=True)
        except OSError as exc:
            raise ActionError(f"could not start {argv[0]!r}: {exc}") from exc

    def _end_program(self) -> None:
        """Stop the task's program and everything it started (its own process group)."""
        process, self._started_program = self._started_program, None
        if process is None:
            return
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(process.pid, sig)
            except ProcessLookupError:
                break
            try:
                process.wait(timeout=3)
                break
            except subprocess.TimeoutExpired:
                continue
        process.wait()


def _fresh_tab(env: Env, url: str) -> None:
    """A new tab on ``url`` with the other tabs closed and the cookies cleared, so one task
    cannot see another's pages, history or log-ins (other site storage lives as long as the
    worker). The task's first observation reports the switch to this tab (``new_page``)."""
    from qwen_gui_agent.actions.models import Navigate

    try:
        context = env.context  # type: ignore[attr-defined]
        context.new_page()
        for page in context.pages[:-1]:
            page.close()
        context.clear_cookies()
    except EnvError:
        raise
    except Exception as exc:  # Playwright's own errors: the browser is unusable
        raise EnvError(f"could not reset the browser for the next task: {exc}") from exc
    env.execute(Navigate(url=url))


class _Report:
    """Builds an attempt's :class:`AttemptResult` (timings summed from the run's steps)."""

    def __init__(self, task: TaskSpec, attempt: int, worker: str, started: float) -> None:
        self.task, self.attempt, self.worker, self.started = task, attempt, worker, started
        self.prepare_s = 0.0

    def __call__(self, status: str, message: str, *, result: RunResult | None = None,
                 env_broken: bool = False) -> AttemptResult:
        timings = dict.fromkeys(PHASES, 0.0)
        timings[PREPARE] = self.prepare_s
        steps = result.steps if result is not None else []
        for step in steps:
            for phase in PHASES:
                timings[phase] += step.timings.get(phase, 0.0)
        path = result.trajectory_path if result is not None else None
        return AttemptResult(
            id=self.task.id, attempt=self.attempt, status=status, steps=len(steps),
            answer=result.answer if result is not None else None, message=message,
            trajectory=str(path) if path is not None else None, env_broken=env_broken,
            duration_s=time.perf_counter() - self.started, timings=timings, worker=self.worker,
        )
