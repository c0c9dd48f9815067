"""Recording overhead on the agent loop's critical path.

Compares, in one run, the time ``Recorder.record_step`` keeps the loop waiting
(step line written and fsynced, PNG encoded on the background thread) with a
synchronous recorder that encodes the PNG before returning. Between steps the
loop "thinks" for ``--think`` seconds, as a model would, which is the time the
background encoder overlaps. Reported as medians and their ratio (shared
machines are noisy; compare ratios, not absolute times).

    python benchmarks/bench_recorder.py [--steps 20] [--size 1920x1080] [--think 0.15]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path

from _report import target
from PIL import Image, ImageDraw

from qwen_gui_agent.actions.decision import Decision
from qwen_gui_agent.actions.models import Click
from qwen_gui_agent.actions.observation import Observation, Outcome
from qwen_gui_agent.trajectories import Recorder
from qwen_gui_agent.trajectories.format import screenshot_name


def screenshot(width: int, height: int, seed: int) -> Image.Image:
    """A screen-like image: flat panels, text lines, a photo-like noisy region."""
    image = Image.new("RGB", (width, height), (246, 248, 250))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, 0, width, 48), fill=(36, 41, 47))
    for row in range(60, height - 40, 28):
        draw.text((40 + seed % 7, row), f"Line {row} of step {seed}: the quick brown fox " * 3,
                  fill=(30, 30, 30))
    noise = Image.effect_noise((width // 4, height // 4), 40).convert("RGB")
    image.paste(noise, (width - width // 4 - 20, 80))
    return image


def _step(index: int, image: Image.Image) -> dict:
    return dict(index=index, observation=Observation(image=image, env="desktop"),
                decision=Decision(actions=(Click(x=10, y=10),), raw="<tool_call>...</tool_call>"),
                outcome=Outcome(0.01), error=None, feedback=None,
                timings={"observe": 0.02, "decide": 0.5})


def run_async(images: list[Image.Image], root: Path, think: float) -> tuple[list[float], float]:
    waits = []
    start = time.perf_counter()
    with Recorder(root / "async", {"task": "bench", "env": "desktop"}) as recorder:
        for index, image in enumerate(images, start=1):
            t0 = time.perf_counter()
            recorder.record_step(**_step(index, image))
            waits.append(time.perf_counter() - t0)
            time.sleep(think)
    return waits, time.perf_counter() - start


def run_sync(images: list[Image.Image], root: Path, think: float) -> tuple[list[float], float]:
    """The same work done inline: encode and fsync the PNG, then write and fsync the line."""
    run = root / "sync"
    (run / "screenshots").mkdir(parents=True)
    waits = []
    start = time.perf_counter()
    with open(run / "trajectory.jsonl", "w", encoding="utf-8") as log:
        for index, image in enumerate(images, start=1):
            t0 = time.perf_counter()
            with open(run / screenshot_name(index), "wb") as png:
                image.save(png, format="PNG", compress_level=3)
                png.flush()
                os.fsync(png.fileno())
            log.write(json.dumps({"type": "step", "index": index}) + "\n")
            log.flush()
            os.fsync(log.fileno())
            waits.append(time.perf_counter() - t0)
            time.sleep(think)
    return waits, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--think", type=float, default=0.15, help="seconds between steps")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))
    images = [screenshot(width, height, seed) for seed in range(args.steps)]
    with tempfile.TemporaryDirectory() as tmp:
        sync_waits, sync_total = run_sync(images, Path(tmp), args.think)
        async_waits, async_total = run_async(images, Path(tmp), args.think)
    sync_ms = statistics.median(sync_waits) * 1000
    async_ms = statistics.median(async_waits) * 1000
    print(f"{args.steps} steps of {width}x{height}, {args.think * 1000:.0f} ms think time per step")
    print(f"  synchronous PNG encode : median {sync_ms:7.1f} ms per step on the loop "
          f"(total {sync_total:.2f} s)")
    print(f"  background PNG encode  : median {async_ms:7.1f} ms per step on the loop "
          f"(total {async_total:.2f} s, incl. waiting for the last PNGs)")
    print(f"  critical-path ratio    : {sync_ms / async_ms:.1f}x less time blocked")
    target(f"recording: loop blocked per {width}x{height} step (PNG in the background)",
           f"{async_ms:.1f} ms", "-", None, f"synchronous encode {sync_ms:.1f} ms")


if __name__ == "__main__":
    main()
