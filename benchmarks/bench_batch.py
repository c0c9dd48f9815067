"""Batch throughput with 1, 2 and 4 browser workers against a slow model server, in one run.

16 tasks of 5 steps each (4 clicks, then ``terminate``) on a page served from
127.0.0.1, against an OpenAI-compatible server that answers every request
after ``--latency`` seconds (300 ms: a busy vLLM) and serves requests
concurrently, as a batching server does. With the model's latency bounding
each step, N workers should finish close to N times as many tasks per second;
what keeps them below is the runtime: screenshots, PNG encoding of the
trajectory, the env reset between tasks, the driver's hand-out, all sharing
the machine's cores with the browsers.

Ray is started once; each configuration starts its own workers. Throughput
counts from the first worker being ready to the last task's end, so the
other workers' start-up (``stagger``: several Chromiums starting at once on
few cores) is in it; the time to the first ready worker is not. With
``--rounds R`` the configurations run R times in alternating order and the
best run of each is kept (other load on a shared machine only slows runs down).

Run: ``python benchmarks/bench_batch.py [--tasks 16] [--steps 5] [--latency 0.3] [--workers 1,2,4]
[--rounds 1]``.
"""

from __future__ import annotations

import argparse
import json
import re
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PAGE = b"""<!doctype html><html><body style="margin:0;font:20px sans-serif">
<h1>Batch benchmark</h1><p>Clicks land on empty space; the page does not change.</p>
</body></html>"""


class SlowModelServer:
    """``/v1/chat/completions`` answering after ``latency`` seconds: a click per step, then
    ``terminate`` once the prompt shows ``steps - 1`` earlier steps."""

    def __init__(self, latency: float, steps: int) -> None:
        self.latency, self.steps, self.requests = latency, steps, 0
        self._lock = threading.Lock()
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.httpd.daemon_threads = True
        self.base_url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def answer(self, body: dict[str, Any]) -> str:
        text = " ".join(part.get("text", "") for message in body["messages"]
                        for part in (message["content"] if isinstance(message["content"], list)
                                     else [{"text": message["content"]}]))
        done = len(re.findall(r"Step \d+: ", text))
        if done >= self.steps - 1:
            call = {"name": "computer_use", "arguments": {"action": "terminate", "status": "success"}}
        else:  # model pixels of the default frame; alternate so the stuck detector stays quiet
            call = {"name": "computer_use",
                    "arguments": {"action": "left_click", "coordinate": [100 + 200 * (done % 2), 700]}}
        return f"<tool_call>\n{json.dumps(call)}\n</tool_call>"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802
                self._send({"object": "list", "data": [{"id": "bench", "object": "model"}]})

            def do_POST(self) -> None:  # noqa: N802
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
                time.sleep(server.latency)
                with server._lock:
                    server.requests += 1
                self._send({"id": "x", "object": "chat.completion", "model": "bench", "choices": [
                    {"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": server.answer(body)}}]})

            def _send(self, payload: dict[str, Any]) -> None:
                data = json.dumps(payload).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        return Handler


class PageServer:
    """Serves :data:`PAGE` at ``/`` on 127.0.0.1."""

    def __init__(self) -> None:
        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                return None

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(PAGE)))
                self.end_headers()
                self.wfile.write(PAGE)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


def run_once(workers: int, tasks: int, steps: int, server: SlowModelServer, page: PageServer,
             root: Path) -> dict[str, Any]:
    from qwen_gui_agent.agent.batch import BatchConfig, BatchEvent, BatchRunner, TaskSpec

    ready: list[float] = []
    finished: list[float] = []

    def on_event(event: BatchEvent) -> None:
        if event.kind == "worker_ready":
            ready.append(time.perf_counter())
        elif event.kind == "finished":
            finished.append(time.perf_counter())

    specs = [TaskSpec(id=f"t{i:02d}", task=f"Benchmark task {i}", env={"url": page.url})
             for i in range(tasks)]
    config = BatchConfig(kind="browser", out=root / f"workers-{workers}", workers=workers,
                         endpoint=server.base_url, model="bench", max_steps=steps + 2)
    summary = BatchRunner(specs, config, on_event=on_event).run()
    statuses = summary.by_status
    if statuses != {"success": tasks}:
        raise SystemExit(f"{workers} worker(s): unexpected statuses {statuses}: {summary.results[:2]}")
    steps_run = max(summary.steps_run, 1)
    busy = summary.run_s * workers  # worker-seconds available while tasks ran
    per_step = {phase: summary.timings.get(phase, 0.0) / steps_run * 1000
                for phase in ("observe", "decide", "execute", "record", "total")}
    return {
        "workers": workers, "run_s": summary.run_s, "startup_s": summary.wall_s - summary.run_s,
        "stagger_s": ready[-1] - ready[0],
        # tasks per second per worker while it was up, times the workers: throughput with
        # the start-up stagger taken out (it is paid once per batch, not per task)
        "steady_tasks_per_s": tasks * workers / sum(finished[-1] - t for t in ready),
        "tasks_per_s": tasks / summary.run_s, "steps_per_s": summary.steps_per_s,
        "model_share": summary.model_share, "per_step_ms": per_step,
        "prepare_ms": summary.timings.get("prepare", 0.0) / tasks * 1000,
        "other_ms": (busy - summary.timings.get("total", 0.0) - summary.timings.get("prepare", 0.0))
        / tasks * 1000,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=16)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--latency", type=float, default=0.3, help="model seconds per answer")
    parser.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    parser.add_argument("--rounds", type=int, default=1, help="runs per configuration (best kept)")
    args = parser.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]

    import ray

    from qwen_gui_agent.agent.batch.cluster import ray_connection

    server, page = SlowModelServer(args.latency, args.steps), PageServer()
    started = time.perf_counter()
    with ray_connection(None) as connected, tempfile.TemporaryDirectory(prefix="bench-batch-") as tmp:
        ray_start = time.perf_counter() - started
        assert connected is ray and ray.is_initialized()
        runs: dict[int, list[dict[str, Any]]] = {n: [] for n in counts}
        for round_ in range(args.rounds):
            for n in counts if round_ % 2 == 0 else reversed(counts):
                runs[n].append(run_once(n, args.tasks, args.steps, server, page, Path(tmp) / str(round_)))
        rows = [min(runs[n], key=lambda row: row["run_s"]) for n in counts]

    base, steady_base = rows[0]["tasks_per_s"], rows[0]["steady_tasks_per_s"]
    print(f"{args.tasks} browser tasks x {args.steps} steps, model latency {args.latency * 1000:.0f} ms, "
          f"Ray start {ray_start:.1f}s, {server.requests} model requests")
    print(f"{'workers':>7} {'run s':>7} {'tasks/s':>8} {'ratio':>6} {'steady':>6} {'ideal':>6} {'model%':>7} "
          f"{'start s':>8} {'stagger':>8}   per step ms: observe decide execute record total "
          f"| per task ms: reset other")
    for row in rows:
        step = row["per_step_ms"]
        ideal = row["workers"] / counts[0]
        print(f"{row['workers']:>7} {row['run_s']:7.2f} {row['tasks_per_s']:8.3f} "
              f"{row['tasks_per_s'] / base:6.2f} {row['steady_tasks_per_s'] / steady_base:6.2f} "
              f"{ideal:6.1f} {row['model_share'] * 100:6.1f}% "
              f"{row['startup_s']:8.2f} {row['stagger_s']:8.2f}   {step['observe']:.0f} {step['decide']:.0f} "
              f"{step['execute']:.0f} {step['record']:.0f} {step['total']:.0f} | "
              f"{row['prepare_ms']:.0f} {row['other_ms']:.0f}")
    print("ratio: tasks/s over run s; steady: tasks per second of each worker while it was up, times "
          "the workers (the start-up stagger left out); start: to the first worker ready (not in run s); "
          "stagger: first to last worker ready (in run s); reset: the env back to the task's start (fresh tab, page load); other: "
          "workers still starting or idle at the end, agent start and finish, hand-out round trip")


if __name__ == "__main__":
    main()
