"""The batch driver: hands tasks to idle env workers (Ray actors) and keeps the books.

::

    summary = BatchRunner(load_tasks("tasks.jsonl", "browser"),
                          BatchConfig(kind="browser", out="out", workers=4,
                                      endpoint="http://gpu:8000/v1")).run()

The driver holds no queue server and no RPC of its own: each in-flight call is
a Ray object ref, and ``ray.wait`` says which one finished, so a task goes to
whichever worker frees up first. What the driver adds is the bookkeeping
around faults:

- an attempt whose env broke is run again on a fresh env (``retries``);
- a worker process that died (killed, out of memory) is restarted by Ray
  (``max_restarts``) and its task is run again; the dead attempt's partial
  trajectory is kept as ``runs/<id>.attemptN``;
- ``stop()`` (Ctrl-C) hands out nothing more and lets each running task end
  after its current step, finalising its trajectory; those tasks get no result
  line, so ``resume`` runs them again;
- a task over ``task_timeout`` ends as ``timeout`` between two steps; a step
  that never returns gets its worker killed a grace period later.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qwen_gui_agent.agent.batch.cluster import (
    android_resource,
    cluster_android_serials,
    local_android_serials,
    ray_connection,
)
from qwen_gui_agent.agent.batch.output import BatchOutput, TaskResult, relative_to
from qwen_gui_agent.agent.batch.policy import ModelServer, PolicySpec
from qwen_gui_agent.agent.batch.tasks import TaskSpec, check_task
from qwen_gui_agent.agent.batch.worker import (
    PHASES,
    PREPARE,
    AttemptResult,
    EnvWorker,
    WorkerConfig,
    WorkerInfo,
)
from qwen_gui_agent.errors import BatchError, QwenAgentError, UsageError

if TYPE_CHECKING:
    from qwen_gui_agent.agent.secrets import Secrets

MAX_RESTARTS = 4
"""Times Ray restarts one worker process that died, before the batch gives up on it."""
HARD_TIMEOUT_GRACE_S = 60.0
"""How long past ``task_timeout`` a step may still run before its worker is killed."""
POLL_S = 0.25
"""How often the driver looks up from ``ray.wait`` (stop requests, deadlines)."""

EventKind = Literal["worker_ready", "worker_failed", "worker_lost", "started", "retry",
                    "finished", "unfinished", "stopping"]


@dataclass
class BatchConfig:
    """How to run a batch; the CLI's options, as a library call takes them."""

    kind: str
    out: Path | str
    workers: int | None = None
    """Env workers at once (default: one per Android device, else 1)."""
    env_options: dict[str, Any] = field(default_factory=dict)
    """Backend options for every worker's env (browser: ``viewport``, ``headless``)."""
    start_url: str | None = None
    """Browser: the page of tasks whose ``env`` names none."""
    serials: Sequence[str] | None = None
    """Android: the devices, one per worker (default: all the adb server or the cluster lists)."""
    adb_port: int | None = None
    screen: tuple[int, int] = (1280, 800)
    """Desktop: the size of each worker's private Xvfb display."""
    model: str | None = None
    endpoint: str | None = None
    family: str | None = None
    """The model family (its output syntax and coordinate frame); see ``build_policy``."""
    min_pixels: int | None = None
    max_pixels: int | None = None
    model_timeout: float | None = None
    """Seconds one request to ``endpoint`` may take in all."""
    max_steps: int = 30
    settle: bool = False
    secrets: Secrets | None = None
    retries: int = 1
    task_timeout: float | None = None
    ray_address: str | None = None
    """None: a local Ray for this run; ``auto``, ``HOST:PORT`` or ``ray://HOST:PORT``: a cluster."""
    resume: bool = False


@dataclass(frozen=True)
class BatchEvent:
    """Something the progress view may show; ``result`` is set on ``finished``."""

    kind: EventKind
    task: str | None = None
    attempt: int = 0
    worker: WorkerInfo | None = None
    result: TaskResult | None = None
    message: str = ""


@dataclass
class BatchSummary:
    """How a batch run went: the figures printed at the end and kept in ``summary.json``."""

    tasks: int
    """Tasks in the file."""
    skipped: int
    """Tasks already finished by an earlier run (``resume``)."""
    results: list[TaskResult]
    """Tasks that reached a final status in this run."""
    unfinished: list[str]
    """Tasks left without a result line (stopped, or no worker left): ``resume`` runs them."""
    interrupted: bool = False
    wall_s: float = 0.0
    run_s: float = 0.0
    """From the first worker being ready to the last task ending (no start-up)."""
    steps_run: int = 0
    """Steps taken in every attempt that reported back (retried attempts too)."""
    timings: dict[str, float] = field(default_factory=dict)
    """Per step phase, summed over those attempts, and the env resets before them (``prepare``)."""
    workers: list[str] = field(default_factory=list)
    model_servers: list[str] = field(default_factory=list)
    message: str = ""

    @property
    def by_status(self) -> dict[str, int]:
        return dict(Counter(result.status for result in self.results))

    @property
    def success_rate(self) -> float | None:
        if not self.results:
            return None
        return sum(result.status == "success" for result in self.results) / len(self.results)

    @property
    def steps_per_s(self) -> float | None:
        return self.steps_run / self.run_s if self.run_s > 0 else None

    @property
    def model_share(self) -> float | None:
        """The share of step time spent waiting for the model (its latency, queueing included)."""
        total = self.timings.get("total", 0.0)
        return self.timings.get("decide", 0.0) / total if total > 0 else None

    def to_json(self) -> dict[str, Any]:
        """The figures (not the result lines: those are in ``results.jsonl``)."""
        data = {name: value for name, value in asdict(self).items() if name != "results"}
        data.update(finished=len(self.results), by_status=self.by_status, success_rate=self.success_rate,
                    steps_per_s=self.steps_per_s, model_share=self.model_share)
        return data


@dataclass(eq=False)
class _Worker:
    index: int
    handle: Any
    info: WorkerInfo | None = None
    deaths: int = 0


@dataclass(eq=False)
class _Job:
    """An in-flight call: a worker's ``start()`` (``task`` None) or one attempt at a task."""

    worker: _Worker
    task: TaskSpec | None = None
    attempt: int = 0
    hard_deadline: float | None = None
    killed: bool = False


class BatchRunner:
    """Runs ``tasks`` as ``config`` says; ``run()`` once, ``stop()`` from any thread or a signal handler."""

    def __init__(self, tasks: Sequence[TaskSpec], config: BatchConfig,
                 on_event: Callable[[BatchEvent], None] | None = None) -> None:
        if config.kind not in ("browser", "android", "desktop"):
            raise UsageError(f"unknown env {config.kind!r}; choose browser, android or desktop")
        if config.workers is not None and config.workers < 1:
            raise UsageError("a batch needs at least one worker")
        if config.retries < 0:
            raise UsageError("retries must be 0 or more")
        if config.task_timeout is not None and not config.task_timeout > 0:
            raise UsageError("the task timeout must be positive")
        ids = [task.id for task in tasks]
        if len(set(ids)) != len(ids):
            raise UsageError("task ids must be unique")
        self.tasks = [check_task(task, config.kind) for task in tasks]
        self.config = config
        self.on_event = on_event
        self._stopping = threading.Event()

    def stop(self) -> None:
        """Hand out no more tasks; running ones end after their current step."""
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self) -> BatchSummary:
        """Run every task without a result line yet; return the summary (also in ``summary.json``)."""
        started = time.perf_counter()
        config = self.config
        output = BatchOutput(config.out, resume=config.resume)
        done = output.finished()
        todo = [task for task in self.tasks if task.id not in done]
        summary = BatchSummary(tasks=len(self.tasks), skipped=len(self.tasks) - len(todo),
                               results=[], unfinished=[])
        if todo:
            serials = list(config.serials or [])
            if config.kind == "android" and not serials and config.ray_address is None:
                serials = local_android_serials(config.adb_port)
            resources = {android_resource(s): 1.0 for s in serials}
            token = uuid.uuid4().hex
            output.write_manifest(self._manifest(token))
            with ray_connection(config.ray_address, resources) as ray:
                fleet = _Fleet(ray, config, token, serials, len(todo))
                summary.model_servers = fleet.model_servers
                try:
                    _Dispatch(self, ray, fleet, output, summary).run(todo)
                except KeyboardInterrupt:  # a second Ctrl-C: no waiting for anyone
                    fleet.close(graceful=False)
                    raise
                except BaseException:
                    fleet.close(graceful=True)
                    raise
                fleet.close(graceful=True)
            summary.workers = [str(w.info) for w in fleet.workers if w.info is not None]
        summary.wall_s = time.perf_counter() - started
        output.write_summary(summary.to_json())
        return summary

    def _emit(self, event: BatchEvent) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _manifest(self, token: str) -> dict[str, Any]:
        config = self.config
        return {
            "token": token, "env": config.kind, "env_options": config.env_options,
            "start_url": config.start_url, "model": config.model, "endpoint": config.endpoint,
            "family": config.family,
            "min_pixels": config.min_pixels, "max_pixels": config.max_pixels,
            "max_steps": config.max_steps, "retries": config.retries,
            "task_timeout": config.task_timeout, "workers": config.workers,
            "ray_address": config.ray_address, "tasks": len(self.tasks),
        }


class _Fleet:
    """The Ray actors of one batch: the model servers (local model only) and the env workers."""

    def __init__(self, ray: Any, config: BatchConfig, token: str, serials: list[str], tasks: int) -> None:
        """``config.workers`` workers, never more than ``tasks`` nor (Android) than devices."""
        self.ray = ray
        count = min(config.workers or 1, tasks)
        self.servers: list[Any] = []
        self.model_servers: list[str] = []
        self.workers: list[_Worker] = []
        if config.kind == "android":
            serials = serials or cluster_android_serials(ray)
            if not serials:
                raise BatchError("no Android device: connect one (`adb devices` lists it), name them with "
                                 "--serials, or on a cluster declare each as a resource (see README)")
            missing = [s for s in serials if not ray.cluster_resources().get(android_resource(s))]
            if missing:
                raise BatchError(
                    f"no host of the Ray cluster declares the device(s) {', '.join(missing)}: start the "
                    "host that has each with ray start --resources "
                    f"'{{\"{android_resource(missing[0])}\": 1}}' (see README)")
            count = min(config.workers or len(serials), len(serials), tasks)
        try:
            specs = self._policies(config, count)
            actor = ray.remote(max_restarts=MAX_RESTARTS, max_task_retries=0,
                               concurrency_groups={"control": 1})(EnvWorker)
            for index in range(count):
                options = dict(config.env_options)
                placement: dict[str, Any] = {}
                if config.kind == "android":
                    options.update(serial=serials[index], adb_port=config.adb_port)
                    placement["resources"] = {android_resource(serials[index]): 1}
                worker_config = WorkerConfig(
                    kind=config.kind, env_options={k: v for k, v in options.items() if v is not None},
                    policy=specs[index % len(specs)], out_dir=str(Path(config.out).resolve()),
                    token=token, screen=config.screen, start_url=config.start_url,
                    max_steps=config.max_steps, settle=config.settle, secrets=config.secrets,
                    task_timeout=config.task_timeout)
                handle = actor.options(**placement).remote(index, worker_config)
                self.workers.append(_Worker(index, handle))
        except BaseException:
            self.close(graceful=False)
            raise

    def _policies(self, config: BatchConfig, workers: int) -> list[PolicySpec]:
        """One spec per model server (local model), or the one endpoint spec."""
        pixels = {"family": config.family, "min_pixels": config.min_pixels,
                  "max_pixels": config.max_pixels}
        if config.endpoint is not None:
            return [PolicySpec(endpoint=config.endpoint, model=_served_model(config),
                               timeout=config.model_timeout, **pixels)]
        ray = self.ray
        gpus = int(ray.cluster_resources().get("GPU", 0))
        server = ray.remote(max_restarts=3, max_task_retries=3)(ModelServer)
        server = server.options(num_gpus=1 if gpus else 0)
        self.servers = [server.remote(config.model, config.family, config.min_pixels, config.max_pixels)
                        for _ in range(max(1, min(gpus, workers)))]
        try:
            self.model_servers = ray.get([s.where.remote() for s in self.servers])
        except ray.exceptions.RayTaskError as exc:
            cause = exc.cause
            if isinstance(cause, QwenAgentError):
                raise cause from None
            raise BatchError(f"the model could not be loaded: {cause!r}") from None
        return [PolicySpec(server=s, **pixels) for s in self.servers]

    def close(self, graceful: bool) -> None:
        """Let each worker close its env (bounded wait), then end every actor of the batch."""
        ray = self.ray
        if graceful and self.workers:
            closing = [w.handle.close.remote() for w in self.workers]
            ray.wait(closing, num_returns=len(closing), timeout=30)
        for handle in [w.handle for w in self.workers] + self.servers:
            try:
                ray.kill(handle, no_restart=True)
            except Exception:  # already dead: nothing to end
                pass


def _served_model(config: BatchConfig) -> str:
    """The endpoint's model name, asked once here rather than by every worker."""
    if config.model is not None:
        return config.model
    import os

    from qwen_gui_agent.errors import EndpointError
    from qwen_gui_agent.model.endpoint import served_models

    assert config.endpoint is not None
    try:
        served = served_models(config.endpoint, api_key=os.environ.get("OPENAI_API_KEY"))
    except EndpointError as exc:
        raise UsageError(f"could not ask {config.endpoint} which model it serves ({exc}); "
                         "pass --model NAME") from exc
    if not served:
        raise UsageError(f"{config.endpoint} serves no model")
    return served[0]


class _Dispatch:
    """The driver's loop over in-flight calls: one instance per ``BatchRunner.run``."""

    def __init__(self, runner: BatchRunner, ray: Any, fleet: _Fleet, output: BatchOutput,
                 summary: BatchSummary) -> None:
        self.runner, self.ray, self.fleet, self.output, self.summary = runner, ray, fleet, output, summary
        self.config = runner.config
        self.pending: deque[tuple[TaskSpec, int]] = deque()
        self.inflight: dict[Any, _Job] = {}
        self.idle: deque[_Worker] = deque()
        self.first_started: dict[str, float] = {}
        self.ready_at: float | None = None
        self.start_errors: list[str] = []
        self.stop_sent = False
        summary.timings = dict.fromkeys((*PHASES, PREPARE), 0.0)

    def run(self, tasks: list[TaskSpec]) -> None:
        self.pending.extend((task, 1) for task in tasks)
        for worker in self.fleet.workers:
            self.inflight[worker.handle.start.remote()] = _Job(worker)
        ray = self.ray
        while True:
            if self.runner.stopping and not self.stop_sent:
                self._stop_workers()
            if not self.runner.stopping:
                self._hand_out()
            if not self.inflight:
                break
            ready, _ = ray.wait(list(self.inflight), num_returns=1, timeout=POLL_S)
            for ref in ready:
                self._settle(ref, self.inflight.pop(ref))
            self._enforce_deadlines()
        summary = self.summary
        summary.interrupted = self.runner.stopping
        summary.unfinished += [task.id for task, _ in self.pending]
        if self.ready_at is not None:
            summary.run_s = time.perf_counter() - self.ready_at
        elif self.start_errors:
            raise BatchError(f"no worker could start: {self.start_errors[0]}")
        if self.pending and not self.runner.stopping:
            summary.message = "every worker was lost; --resume runs the tasks left"

    # -- handing out ------------------------------------------------------------------------
    def _hand_out(self) -> None:
        while self.pending and self.idle:
            worker = self.idle.popleft()
            task, attempt = self.pending.popleft()
            self.output.set_aside(task.id)
            now = time.perf_counter()
            self.first_started.setdefault(task.id, now)
            timeout = self.config.task_timeout
            job = _Job(worker, task, attempt,
                       hard_deadline=time.monotonic() + timeout + HARD_TIMEOUT_GRACE_S if timeout else None)
            self.inflight[worker.handle.run.remote(task, attempt)] = job
            self.runner._emit(BatchEvent("started", task.id, attempt, worker.info))

    def _stop_workers(self) -> None:
        self.stop_sent = True
        self.runner._emit(BatchEvent("stopping", message="stopping: running tasks end after their step"))
        for job in self.inflight.values():
            if job.task is not None:
                job.worker.handle.stop.options(concurrency_group="control").remote()

    def _enforce_deadlines(self) -> None:
        now = time.monotonic()
        for job in self.inflight.values():
            if job.hard_deadline is not None and now > job.hard_deadline and not job.killed:
                job.killed = True
                self.ray.kill(job.worker.handle, no_restart=False)

    # -- results ----------------------------------------------------------------------------
    def _settle(self, ref: Any, job: _Job) -> None:
        from ray.exceptions import RayActorError, RayTaskError

        try:
            value = self.ray.get(ref)
        except RayActorError as exc:
            self._worker_died(job, exc)
            return
        except RayTaskError as exc:
            message = f"{type(exc.cause).__name__}: {exc.cause}"
            if job.task is None:
                self.start_errors.append(message)
                self.runner._emit(BatchEvent("worker_failed", worker=job.worker.info, message=message))
            else:
                self._final(job, "error", f"the worker failed: {message}", self.output.run_dir(job.task.id))
                self.idle.append(job.worker)
            return
        if job.task is None:
            job.worker.info = value
            if self.ready_at is None:
                self.ready_at = time.perf_counter()
            self.idle.append(job.worker)
            self.runner._emit(BatchEvent("worker_ready", worker=value))
            return
        self.idle.append(job.worker)
        self._attempt_done(job, value)

    def _attempt_done(self, job: _Job, result: AttemptResult) -> None:
        assert job.task is not None
        self.summary.steps_run += result.steps
        for phase, seconds in result.timings.items():
            self.summary.timings[phase] = self.summary.timings.get(phase, 0.0) + seconds
        if result.status == "interrupted":
            self.summary.unfinished.append(job.task.id)
            self.runner._emit(BatchEvent("unfinished", job.task.id, job.attempt, job.worker.info,
                                         message=result.message))
        elif result.env_broken and job.attempt <= self.config.retries:
            self._retry(job, result.message)
        else:
            self._final(job, result.status, result.message, result.trajectory, result.steps,
                        result.answer, result.worker)

    def _worker_died(self, job: _Job, exc: Exception) -> None:
        worker = job.worker
        worker.deaths += 1
        if worker.deaths > MAX_RESTARTS:
            self.runner._emit(BatchEvent("worker_lost", worker=worker.info,
                                         message=f"the worker died {worker.deaths} times; not restarted"))
        else:  # Ray restarts the process; start() answers once the new one is up
            self.inflight[worker.handle.start.remote()] = _Job(worker)
        if job.task is None:
            return
        why = f"the worker process died ({type(exc).__name__})"
        trajectory = self.output.run_dir(job.task.id)
        steps = _recorded_steps(trajectory)
        if job.killed:
            self._final(job, "timeout", f"a step did not return {HARD_TIMEOUT_GRACE_S:g}s after the task's "
                                        "time ran out; its worker was killed", trajectory, steps)
        elif job.attempt <= self.config.retries:
            self._retry(job, why)
        else:
            self._final(job, "error", why, trajectory, steps)

    def _retry(self, job: _Job, why: str) -> None:
        """Run the task again on the next free worker; when stopping, leave it to ``resume``."""
        assert job.task is not None
        if self.runner.stopping:
            self.summary.unfinished.append(job.task.id)
            self.runner._emit(BatchEvent("unfinished", job.task.id, job.attempt, job.worker.info,
                                         message=why))
            return
        self.pending.appendleft((job.task, job.attempt + 1))
        self.runner._emit(BatchEvent("retry", job.task.id, job.attempt, job.worker.info, message=why))

    def _final(self, job: _Job, status: str, message: str, trajectory: Path | str | None,
               steps: int = 0, answer: str | None = None, worker: str | None = None) -> None:
        assert job.task is not None
        task = job.task
        if trajectory is not None and not Path(trajectory).exists():
            trajectory = None
        result = TaskResult(
            id=task.id, status=status, steps=steps, answer=answer, attempts=job.attempt,
            trajectory=relative_to(trajectory, self.output.root) if trajectory is not None else None,
            error=None if status == "success" else message,
            duration_s=round(time.perf_counter() - self.first_started.get(task.id, time.perf_counter()), 3),
            worker=worker or (str(job.worker.info) if job.worker.info else None),
        )
        self.output.append(result)
        self.summary.results.append(result)
        self.runner._emit(BatchEvent("finished", task.id, job.attempt, job.worker.info, result=result))


def _recorded_steps(run_dir: Path) -> int:
    """Steps a dead worker's trajectory holds (0 when there is none or it cannot be read)."""
    from qwen_gui_agent.trajectories.reader import load_trajectory

    try:
        return len(load_trajectory(run_dir).steps)
    except (QwenAgentError, OSError):
        return 0
