"""DesktopEnv overhead over the bare backend calls, on its own headless display.

Times, in one run and interleaved (so machine noise hits both sides alike):
``mss`` grab + conversion to a PIL image vs ``DesktopEnv.observe()`` (which
adds the active-window lookup and metadata), and a bare ``pyautogui.click``
vs ``env.execute(Click)`` (which adds validation, bounds check, coordinate
mapping and timing). Reports means, medians and the overhead ratio.

    python benchmarks/bench_env_desktop.py [--iterations 100] [--size 1920x1080]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from qwen_gui_agent.actions.models import Click
from qwen_gui_agent.envs.desktop.env import DesktopEnv
from qwen_gui_agent.envs.desktop.xvfb import VirtualDisplay

WARMUP = 3


def interleaved(bare: Callable[[int], object], wrapped: Callable[[int], object],
                iterations: int) -> tuple[list[float], list[float]]:
    """Seconds per call of each function, alternating the two."""
    times: tuple[list[float], list[float]] = ([], [])
    for i in range(-WARMUP, iterations):
        for function, sink in ((bare, times[0]), (wrapped, times[1])):
            start = time.perf_counter()
            function(i)
            if i >= 0:
                sink.append(time.perf_counter() - start)
    return times


def row(name: str, bare: list[float], wrapped: list[float]) -> str:
    bare_mean, wrapped_mean = statistics.fmean(bare) * 1000, statistics.fmean(wrapped) * 1000
    return (f"{name:<34} {bare_mean:9.3f} {statistics.median(bare) * 1000:9.3f}   "
            f"{wrapped_mean:9.3f} {statistics.median(wrapped) * 1000:9.3f}   {wrapped_mean / bare_mean:6.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--size", default="1920x1080")
    args = parser.parse_args()
    width, height = (int(v) for v in args.size.split("x"))

    import mss
    from PIL import Image

    with VirtualDisplay(width, height) as display, DesktopEnv(display=display.display) as env, \
            mss.MSS(display=display.display) as sct:
        monitor = sct.monitors[1]
        import pyautogui  # imported and pointed at this display by the env (PAUSE = 0)

        def grab(_: int) -> Image.Image:
            shot = sct.grab(monitor)
            return Image.frombytes("RGB", shot.size, shot.bgra, "raw", "BGRX")

        def point(i: int) -> tuple[int, int]:
            return 10 + (i * 37) % (width - 20), 10 + (i * 53) % (height - 20)

        capture = interleaved(grab, lambda i: env.observe(), args.iterations)
        clicks = interleaved(lambda i: pyautogui.click(*point(i)),
                             lambda i: env.execute(Click(x=point(i)[0], y=point(i)[1])), args.iterations)

    print(f"DesktopEnv overhead on Xvfb {width}x{height}, {args.iterations} interleaved iterations (ms)")
    print(f"{'':<34} {'bare mean':>9} {'median':>9}   {'env mean':>9} {'median':>9}   {'ratio':>7}")
    print(row("mss grab+PIL  vs  env.observe()", *capture))
    print(row("pyautogui.click vs env.execute", *clicks))


if __name__ == "__main__":
    main()
