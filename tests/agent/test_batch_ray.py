"""``qwen-agent batch`` on a real local Ray with real headless-Chromium (and Xvfb) workers.

One Ray is started for the module (not ``local_mode``); the library runs in
this process on it, the CLI runs as a subprocess that joins it with
``--ray-address`` (the cluster path), except the resumed run, which starts and
stops its own local Ray (the default path). The model is the tiny Qwen2.5-VL
behind the real chat-completions server, each task answering from its own
script so that two workers can share the server in any order.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Sequence

import pytest
from fixtures.display import PROBE_SCRIPT
from fixtures.models import script_texts

from qwen_gui_agent.actions import Click, Terminate, Wait
from qwen_gui_agent.agent.batch import BatchConfig, BatchEvent, BatchRunner, TaskSpec
from qwen_gui_agent.trajectories import load_trajectory

sys.path.insert(0, str(Path(__file__).parent))  # tests/ is no package: reach the shared helpers
from cli_helpers import EXIT, cli_env, command, json_lines, qwen_agent  # noqa: E402

SCREEN = (1280, 800)
MAX_PIXELS = 256 * 28 * 28
"""A small model image keeps the tiny model quick; coordinates still map back exactly."""


@pytest.fixture(scope="module")
def ray_head() -> Iterator[str]:
    """A real local Ray for the module; yields the address other processes join it by."""
    import ray

    ray.init(address="local", num_cpus=2, include_dashboard=False, log_to_driver=False,
             logging_level=logging.WARNING)
    try:
        yield ray.get_runtime_context().gcs_address
    finally:
        ray.shutdown()


def task_line(task_id: str, url: str | None = None) -> dict[str, Any]:
    line: dict[str, Any] = {"id": task_id, "task": f"[{task_id}] do the thing"}
    if url is not None:
        line["env"] = {"url": url}
    return line


def script(server: Any, plans: dict[str, Sequence[Any]]) -> None:
    server.script_tasks({f"[{task_id}]": script_texts(items, screen=SCREEN, env="browser",
                                                      max_pixels=MAX_PIXELS)
                         for task_id, items in plans.items()})


def write_tasks(path: Path, lines: Sequence[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    return path


def results_of(out: Path) -> dict[str, dict[str, Any]]:
    lines = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    by_id = {line["id"]: line for line in lines}
    assert len(by_id) == len(lines), "a task has two result lines"
    return by_id


def test_two_workers_run_six_tasks(ray_head: str, chat_server: Any, page_server: Any,
                                   tmp_path: Path) -> None:
    static, probe, form = (page_server.url(p) for p in ("static.html", "probe.html", "form.html"))
    click, other = Click(x=100, y=100), Click(x=300, y=120)
    plans: dict[str, list[Any]] = {
        "t1": [click, other, Terminate(status="success")],
        "t2": [Click(x=200, y=200), Terminate(status="success")],
        "t3": [click, Terminate(status="failure")],
        "t4": [click, other, click],
        "t5": [Terminate(status="success")],
        "t6": [Wait(seconds=0.2), Terminate(status="success")],
    }
    urls = {"t1": static, "t2": probe, "t3": static, "t4": static, "t5": form, "t6": None}
    expected = {"t1": ("success", 3), "t2": ("success", 2), "t3": ("failure", 2),
                "t4": ("max_steps", 3), "t5": ("success", 1), "t6": ("success", 2)}
    script(chat_server, plans)
    events: list[BatchEvent] = []
    config = BatchConfig(kind="browser", out=tmp_path / "out", workers=2, endpoint=chat_server.base_url,
                         model="tiny", max_pixels=MAX_PIXELS, max_steps=3, start_url=static)
    tasks = [TaskSpec(id=i, task=f"[{i}] do the thing", env={"url": u} if u else {}) for i, u in urls.items()]

    summary = BatchRunner(tasks, config, on_event=events.append).run()

    assert summary.by_status == {"success": 4, "failure": 1, "max_steps": 1}
    assert not summary.unfinished and not summary.interrupted
    assert summary.steps_run == sum(steps for _, steps in expected.values())
    assert summary.model_share is not None and 0 < summary.model_share < 1
    results = results_of(tmp_path / "out")
    assert {i: (r["status"], r["steps"]) for i, r in results.items()} == expected
    assert {r["attempts"] for r in results.values()} == {1}
    assert len({r["worker"] for r in results.values()}) == 2, "both workers should have run tasks"
    assert sum(e.kind == "worker_ready" for e in events) == 2
    for task_id, (status, steps) in expected.items():
        assert results[task_id]["trajectory"] == f"runs/{task_id}"
        trajectory = load_trajectory(tmp_path / "out" / "runs" / task_id)
        assert (trajectory.status, len(trajectory.steps)) == (status, steps)
        url = urls[task_id] or static
        assert trajectory.header.env_options["url"] == url  # replay starts where the task started
        assert trajectory.steps[0].observation.url == url
        assert trajectory.header.model_extra["batch"] == {"id": task_id, "attempt": 1,
                                                         "env": {"url": url} if urls[task_id] else {}}
    summary_file = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert summary_file["by_status"] == summary.by_status

    # the usual tools read a batch's output unchanged
    report = qwen_agent("report", str(tmp_path / "out" / "runs" / "t1"), "--out", str(tmp_path / "r.html"),
                        cwd=tmp_path)
    assert report.returncode == 0, report.stderr
    exported = qwen_agent("export", str(tmp_path / "out" / "runs"), "--format", "qwen-vl-finetune",
                          "--out", str(tmp_path / "data"), "--status", "success", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    assert "from 4 run(s) (2 filtered out)" in exported.stdout
    replayed = qwen_agent("replay", str(tmp_path / "out" / "runs" / "t1"), "--no-record", "--json",
                          cwd=tmp_path)
    assert replayed.returncode == 0, replayed.stderr
    replay_summary = json_lines(replayed.stdout)[-1]
    assert (replay_summary["status"], replay_summary["replayed"], replay_summary["mismatches"]) == (
        "completed", 2, [])  # both clicks, on the same screens


class BatchProcess:
    """``qwen-agent batch ... --json`` as a subprocess, its events read as they come."""

    def __init__(self, args: Sequence[str], cwd: Path) -> None:
        self.process = subprocess.Popen(command("batch", *args), cwd=cwd, env=cli_env(),
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.stray: list[str] = []
        """stdout lines that are not JSON (there must be none)."""
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            try:
                self.events.put(json.loads(line))
            except ValueError:
                self.stray.append(line)

    def wait_for(self, kind: str, count: int = 1, timeout: float = 120) -> dict[str, Any]:
        """The ``count``-th event of ``kind`` (earlier events of any kind are kept in ``seen``)."""
        deadline = time.monotonic() + timeout
        while True:
            event = self.events.get(timeout=max(deadline - time.monotonic(), 0.01))
            self.seen.append(event)
            if event["type"] == kind and sum(e["type"] == kind for e in self.seen) == count:
                return event

    def finish(self, timeout: float = 180) -> tuple[int, list[dict[str, Any]], str]:
        code = self.process.wait(timeout=timeout)
        assert self.process.stderr is not None
        stderr = self.process.stderr.read()
        time.sleep(0.2)  # let the reader thread drain stdout
        while not self.events.empty():
            self.seen.append(self.events.get())
        assert not self.stray, f"stdout lines that are not JSON: {self.stray}"
        return code, self.seen, stderr


def slow_tasks(server: Any, tmp_path: Path, url: str, count: int = 6) -> Path:
    """``count`` tasks of three short waits each (alternating, so no stuck hint), then success."""
    waits = [Wait(seconds=0.5), Wait(seconds=0.6), Wait(seconds=0.5), Terminate(status="success")]
    ids = [f"s{n}" for n in range(1, count + 1)]
    script(server, {task_id: waits for task_id in ids})
    return write_tasks(tmp_path / "tasks.jsonl", [task_line(task_id, url) for task_id in ids])


def wait_for_steps(run_dir: Path, count: int, timeout: float = 60) -> None:
    """Until the trajectory in ``run_dir`` holds ``count`` recorded steps."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            lines = (run_dir / "trajectory.jsonl").read_text().splitlines()
        except FileNotFoundError:
            lines = []
        if sum(_record_type(line) == "step" for line in lines) >= count:
            return
        time.sleep(0.05)
    raise AssertionError(f"{run_dir} did not record {count} step(s) in {timeout}s")


def _record_type(line: str) -> str | None:
    try:
        return json.loads(line).get("type")
    except ValueError:  # a line being written
        return None


def batch_args(tasks: Path, out: Path, server: Any, *extra: str) -> list[str]:
    return [str(tasks), "--env", "browser", "--workers", "2", "--out", str(out), "--endpoint",
            server.base_url, "--model", "tiny", "--max-pixels", str(MAX_PIXELS), "--json", *extra]


def test_a_killed_worker_is_replaced_and_its_task_run_again(ray_head: str, chat_server: Any,
                                                            page_server: Any, tmp_path: Path) -> None:
    tasks = slow_tasks(chat_server, tmp_path, page_server.url("static.html"))
    out = tmp_path / "out"
    batch = BatchProcess(batch_args(tasks, out, chat_server, "--ray-address", ray_head), tmp_path)
    started = batch.wait_for("started")
    wait_for_steps(out / "runs" / started["id"], 1)  # mid-task: a step recorded, more to come
    os.kill(started["worker"]["pid"], signal.SIGKILL)

    code, events, stderr = batch.finish()

    assert code == 0, stderr
    killed = started["id"]
    results = results_of(out)
    assert sorted(results) == [f"s{n}" for n in range(1, 7)]
    assert {r["status"] for r in results.values()} == {"success"}
    assert results[killed]["attempts"] == 2
    assert [e["id"] for e in events if e["type"] == "retry"] == [killed]
    assert load_trajectory(out / "runs" / killed).status == "success"
    assert load_trajectory(out / "runs" / f"{killed}.attempt1").status == "incomplete"
    pids = {e["worker"]["pid"] for e in events if e["type"] == "worker_ready"}
    assert started["worker"]["pid"] in pids and len(pids) == 3, "Ray should have started a new worker"


def test_ctrl_c_keeps_what_finished_and_resume_runs_the_rest(ray_head: str, chat_server: Any,
                                                             page_server: Any, tmp_path: Path) -> None:
    tasks = slow_tasks(chat_server, tmp_path, page_server.url("static.html"))
    out = tmp_path / "out"
    batch = BatchProcess(batch_args(tasks, out, chat_server, "--ray-address", ray_head), tmp_path)
    batch.wait_for("finished", count=2)
    batch.process.send_signal(signal.SIGINT)

    code, events, stderr = batch.finish(timeout=60)

    assert code == EXIT["interrupted"], stderr
    assert any(e["type"] == "stopping" for e in events)
    finished = results_of(out)
    stopped = [e["id"] for e in events if e["type"] == "unfinished"]
    assert 2 <= len(finished) < 6 and stopped and not set(stopped) & set(finished)
    for task_id in stopped:  # the running steps finished and the trajectory was finalised
        assert load_trajectory(out / "runs" / task_id).status == "interrupted"
    assert events[-1]["type"] == "summary" and events[-1]["interrupted"]

    resumed = qwen_agent("batch", *batch_args(tasks, out, chat_server, "--resume"), cwd=tmp_path)

    assert resumed.returncode == 0, resumed.stderr
    again = json_lines(resumed.stdout)
    ran = {e["id"] for e in again if e["type"] == "started"}
    assert ran == {f"s{n}" for n in range(1, 7)} - set(finished)
    results = results_of(out)
    assert len(results) == 6 and {r["status"] for r in results.values()} == {"success"}
    assert {k: results[k] for k in finished} == finished  # earlier lines untouched
    for task_id in stopped:
        assert load_trajectory(out / "runs" / f"{task_id}.attempt1").status == "interrupted"
    assert again[-1]["skipped"] == len(finished)


def test_a_duplicate_id_is_refused_before_anything_starts(page_server: Any, tmp_path: Path) -> None:
    tasks = write_tasks(tmp_path / "tasks.jsonl",
                        [task_line("a"), task_line("b"), task_line("a")])
    done = qwen_agent("batch", str(tasks), "--env", "browser", "--out", str(tmp_path / "out"),
                      "--endpoint", "http://127.0.0.1:9/v1", "--model", "tiny", cwd=tmp_path, timeout=60)
    assert done.returncode == EXIT["usage"]
    assert "tasks.jsonl:3: duplicate id 'a', already used on line 1" in done.stderr
    assert not (tmp_path / "out").exists()


def test_a_task_over_its_time_ends_as_timeout(ray_head: str, chat_server: Any, page_server: Any,
                                              tmp_path: Path) -> None:
    waits = [Wait(seconds=0.6), Wait(seconds=0.5)] * 4 + [Terminate(status="success")]
    script(chat_server, {"slow": waits})
    config = BatchConfig(kind="browser", out=tmp_path / "out", endpoint=chat_server.base_url, model="tiny",
                         max_pixels=MAX_PIXELS, task_timeout=1.5)
    task = TaskSpec(id="slow", task="[slow] wait a lot", env={"url": page_server.url("static.html")})

    summary = BatchRunner([task], config).run()

    (result,) = summary.results
    assert result.status == "timeout" and 1 <= result.steps < len(waits)
    assert "--task-timeout 1.5s" in (result.error or "")
    trajectory = load_trajectory(tmp_path / "out" / "runs" / "slow")
    assert (trajectory.status, len(trajectory.steps)) == ("timeout", result.steps)  # finalised


def test_a_local_model_is_loaded_once_for_all_workers(ray_head: str, page_server: Any,
                                                      tmp_path: Path) -> None:
    config = BatchConfig(kind="browser", out=tmp_path / "out", workers=2, model="tiny",
                         max_pixels=MAX_PIXELS, max_steps=2, start_url=page_server.url("static.html"))
    tasks = [TaskSpec(id=f"m{n}", task=f"[m{n}] anything") for n in range(3)]

    summary = BatchRunner(tasks, config).run()

    assert len(summary.model_servers) == 1, summary.model_servers  # one CPU: one model actor
    assert len(summary.results) == 3 and len(summary.workers) == 2
    for result in summary.results:  # random weights: the runs end, unsolved
        assert result.status in ("max_steps", "failure") and result.steps == 2, result
        header = load_trajectory(tmp_path / "out" / result.trajectory).header
        assert header.policy["class"].endswith("RemotePolicy")
        assert header.image_bounds.max_pixels == MAX_PIXELS  # the model's frame and syntax, for export
        assert header.family == "qwen2.5-vl"


def test_desktop_workers_each_drive_a_private_display(ray_head: str, chat_server: Any,
                                                      tmp_path: Path) -> None:
    points = {"d1": (200, 200), "d2": (500, 350)}
    chat_server.script_tasks({
        f"[{task_id}]": script_texts([Wait(seconds=1.0), Click(x=x, y=y), Terminate(status="success")],
                                     screen=SCREEN, env="desktop", max_pixels=MAX_PIXELS)
        for task_id, (x, y) in points.items()})
    states = {task_id: tmp_path / f"{task_id}.json" for task_id in points}
    # the probe quits when its stdin closes: a shell keeps a pipe open (and the worker ends
    # the whole process group when the task ends)
    tasks = [TaskSpec(id=task_id, task=f"[{task_id}] click it", env={"command": [
        "sh", "-c", f"sleep 600 | '{sys.executable}' '{PROBE_SCRIPT}' --state '{states[task_id]}'"]})
        for task_id in points]
    config = BatchConfig(kind="desktop", out=tmp_path / "out", workers=2, endpoint=chat_server.base_url,
                         model="tiny", max_pixels=MAX_PIXELS, screen=SCREEN)

    summary = BatchRunner(tasks, config).run()

    assert summary.by_status == {"success": 2}
    displays = set()
    for task_id, point in points.items():  # the click reached the task's own program
        presses = [(e["x"], e["y"]) for e in json.loads(states[task_id].read_text())["events"]
                   if e["kind"] == "press"]
        assert len(presses) == 1 and abs(presses[0][0] - point[0]) <= 2 and abs(presses[0][1] - point[1]) <= 2
        display = load_trajectory(tmp_path / "out" / "runs" / task_id).header.env_options["display"]
        assert display != os.environ.get("DISPLAY")
        displays.add(display)
    assert len(summary.workers) == 2 and len(displays) == len({r.worker for r in summary.results})


def test_a_crashed_browser_is_replaced_and_its_task_run_again(ray_head: str, chat_server: Any,
                                                              page_server: Any, tmp_path: Path) -> None:
    waits = [Wait(seconds=0.5), Wait(seconds=0.6), Wait(seconds=0.5), Terminate(status="success")]
    script(chat_server, {"c1": waits})
    out = tmp_path / "out"
    crashed: list[int] = []

    def crash_the_browser(worker_pid: int) -> None:
        wait_for_steps(out / "runs" / "c1", 1)
        (browser,) = [pid for pid in descendants(worker_pid) if process_name(pid).startswith("chrom")
                      and not process_name(parent_of(pid)).startswith("chrom")]
        os.kill(browser, signal.SIGKILL)
        crashed.append(browser)

    def on_event(event: BatchEvent) -> None:
        if event.kind == "started" and event.attempt == 1:
            assert event.worker is not None
            threading.Thread(target=crash_the_browser, args=(event.worker.pid,), daemon=True).start()

    config = BatchConfig(kind="browser", out=out, endpoint=chat_server.base_url, model="tiny",
                         max_pixels=MAX_PIXELS)
    task = TaskSpec(id="c1", task="[c1] wait a bit", env={"url": page_server.url("static.html")})

    summary = BatchRunner([task], config, on_event=on_event).run()

    assert crashed, "the browser was not found to crash it"
    (result,) = summary.results
    assert (result.status, result.attempts) == ("success", 2)
    first = load_trajectory(out / "runs" / "c1.attempt1")
    assert first.status == "error" and "Chromium" in first.summary.message
    assert load_trajectory(out / "runs" / "c1").status == "success"


def parent_of(pid: int) -> int:
    stat = Path(f"/proc/{pid}/stat").read_text()
    return int(stat.rsplit(")", 1)[1].split()[1])


def process_name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


def descendants(root: int) -> list[int]:
    """Every live process under ``root`` (read from /proc)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = parent_of(int(entry.name))
            except (OSError, ValueError, IndexError):
                continue
    found, frontier = [], [root]
    while frontier:
        children = [pid for pid, parent in parents.items() if parent in frontier]
        found += children
        frontier = children
    return found


def test_an_unreachable_cluster_is_reported_at_once(tmp_path: Path) -> None:
    from fixtures.ports import closed_port

    tasks = write_tasks(tmp_path / "tasks.jsonl", [task_line("a")])
    address = f"127.0.0.1:{closed_port()}"
    done = qwen_agent("batch", str(tasks), "--env", "browser", "--out", str(tmp_path / "out"),
                      "--endpoint", "http://127.0.0.1:9/v1", "--model", "tiny", "--ray-address", address,
                      cwd=tmp_path, timeout=60)
    assert done.returncode == EXIT["error"]
    assert f"nothing answers at {address}" in done.stderr
