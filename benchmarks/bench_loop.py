"""The agent loop's own cost per step, against the bare parts it is made of, in one run.

On a real headless Chromium (browser env), with an instant policy (no model),
each round times, in alternation so machine noise hits all alike:

- ``bare``: ``env.observe()`` + ``policy.decide(...)`` + ``env.execute(action)``;
- ``loop``: one ``Agent.step()`` with recording off;
- ``loop+rec``: one ``Agent.step()`` recording a trajectory (PNG encoding runs
  on the recorder's background thread);
- ``loop+cmp``: recording off, but the policy repeats one click, so the stuck
  detector compares every screen with the last (its worst case; the limit is
  raised so the run goes on).

``overhead`` compares whole steps with the bare sum (noisy: the parts dominate).
``own`` is exact: each step's wall time minus the observe, decide and execute
times the step itself measured, i.e. what the loop adds (stuck detection,
guard, secrets, history, bookkeeping, and with recording the JSONL line and
its fsync). The env's fixed after-action pause is off so noise stays small.

Run: ``python benchmarks/bench_loop.py [--rounds 40] [--viewport 1280x800]``.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any, Sequence

from _report import target

PAGE = """<!doctype html><html><body style="margin:0;font:20px sans-serif">
<h1>Loop benchmark</h1><p>Clicks land on empty space; the page does not change.</p>
</body></html>"""


class InstantPolicy:
    """Answers at once, alternating between two clicks (or repeating one)."""

    def __init__(self, width: int, height: int, repeat: bool = False) -> None:
        from qwen_gui_agent.actions.models import Click

        self.actions = (Click(x=width // 4, y=height - 20), Click(x=width // 2, y=height - 20))
        self.step = 0 if repeat else 1
        self.calls = 0

    def decide(self, task: str, observation: Any, history: Sequence[Any]) -> Any:
        from qwen_gui_agent.actions.decision import Decision

        self.calls += self.step
        return Decision(actions=(self.actions[self.calls % 2],), raw="", thought=None)


def _ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--viewport", default="1280x800", help="WIDTHxHEIGHT in CSS pixels")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.viewport.lower().split("x"))

    from qwen_gui_agent.agent.loop import Agent
    from qwen_gui_agent.envs.browser.env import BrowserEnv

    with BrowserEnv(viewport=(width, height), pause=0.0) as env, \
            tempfile.TemporaryDirectory(prefix="bench-loop-") as record_root:
        env.page.set_content(PAGE)
        bare_policy = InstantPolicy(width, height)
        agents = {
            "loop": Agent(InstantPolicy(width, height), env, max_steps=args.rounds + 2),
            "loop+rec": Agent(InstantPolicy(width, height), env, max_steps=args.rounds + 2,
                              record_dir=record_root),
            "loop+cmp": Agent(InstantPolicy(width, height, repeat=True), env,
                              max_steps=args.rounds + 2, stuck_limit=args.rounds + 2),
        }
        for agent in agents.values():
            agent.start("benchmark")
            agent.step()  # warm-up (first screenshot, recorder thread)
        env.execute(bare_policy.decide("benchmark", env.observe(), ()).action)

        totals: dict[str, list[float]] = {"bare": [], **{name: [] for name in agents}}
        phases: dict[str, dict[str, list[float]]] = {name: {"own": []} for name in agents}
        for _ in range(args.rounds):
            start = time.perf_counter()
            observation = env.observe()
            decision = bare_policy.decide("benchmark", observation, ())
            env.execute(decision.action)
            totals["bare"].append(time.perf_counter() - start)
            for name, agent in agents.items():
                start = time.perf_counter()
                step = agent.step()
                wall = time.perf_counter() - start
                totals[name].append(wall)
                parts = sum(step.timings.get(p, 0.0) for p in ("observe", "decide", "execute"))
                phases[name]["own"].append(wall - parts)
                for phase, seconds in step.timings.items():
                    phases[name].setdefault(phase, []).append(seconds)
        for agent in agents.values():
            agent.finish("success", "benchmark done")

    bare = _ms(totals["bare"])
    own_loop, own_rec = _ms(phases["loop"]["own"]), _ms(phases["loop+rec"]["own"])
    # From the exact own times: whole steps differ by more than recording costs (observe noise).
    recording = (bare + own_rec) / (bare + own_loop)
    print(f"browser env, viewport {width}x{height}, {args.rounds} rounds, median ms per step")
    print(f"{'mode':<10} {'step':>8} {'overhead':>9} {'ratio':>7} {'own':>7} {'own/bare':>9}   phases")
    print(f"{'bare':<10} {bare:8.2f} {0:9.2f} {1:7.3f} {'':>7} {'':>9}   observe+decide+execute")
    for name in agents:
        total, own = _ms(totals[name]), _ms(phases[name].pop("own"))
        detail = "  ".join(f"{p}={_ms(v):.2f}" for p, v in phases[name].items())
        print(f"{name:<10} {total:8.2f} {total - bare:9.2f} {total / bare:7.3f} {own:7.2f} "
              f"{own / bare:9.3f}   {detail}")
    target("agent loop's own time per step (recording off)", f"{own_loop:.2f} ms", "<= 1 ms",
           own_loop <= 1.0, f"bare step {bare:.2f} ms")
    target("step time, recording on / off (bare step + own time)", f"{recording:.3f}x",
           "<= 1.05x", recording <= 1.05, f"own {own_rec:.2f} vs {own_loop:.2f} ms")


if __name__ == "__main__":
    main()
