"""BrowserEnv overhead over bare Playwright calls, on one headless Chromium, in one run.

Times, interleaved so machine noise hits both sides alike, on the same page:

- ``page.screenshot()`` + PIL decode vs ``env.observe()`` (which adds the title,
  tab count, download bookkeeping and the liveness check);
- ``page.mouse.click(x, y)`` vs ``env.execute(Click(...))`` with ``pause=0``
  (validation, bounds check, screenshot->CSS mapping, error translation, timing),
  and the same with the default ``pause`` (the env lets the page react before
  returning).

Run: ``python benchmarks/bench_env_browser.py [--iterations 50] [--dsf 1] [--viewport 1280x800]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from io import BytesIO

PAGE = (
    "data:text/html,<title>bench</title><body style='margin:0;font:20px sans-serif'>"
    "<h1>Benchmark</h1><button id=b style='width:200px;height:60px'>button</button>"
    "<p>" + "lorem ipsum " * 200 + "</p></body>"
)
WARMUP = 3


def interleaved(calls: list[Callable[[int], object]], iterations: int) -> list[list[float]]:
    """Run each call once per round, in turn; return the seconds of each, per call."""
    times: list[list[float]] = [[] for _ in calls]
    for i in range(WARMUP + iterations):
        for call, sink in zip(calls, times):
            start = time.perf_counter()
            call(i)
            if i >= WARMUP:
                sink.append(time.perf_counter() - start)
    return times


def row(name: str, samples: list[float], baseline: list[float] | None = None) -> str:
    mean, median = statistics.fmean(samples), statistics.median(samples)
    ratio = f"{mean / statistics.fmean(baseline):6.2f}x" if baseline else "  (bare)"
    return f"{name:<44} {mean * 1000:9.2f} {median * 1000:9.2f} {ratio}"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=50)
    parser.add_argument("--dsf", type=float, default=1.0, help="device scale factor")
    parser.add_argument("--viewport", default="1280x800")
    args = parser.parse_args(argv)
    width, height = (int(v) for v in args.viewport.split("x"))

    from PIL import Image

    from qwen_gui_agent.actions.models import Click
    from qwen_gui_agent.envs.browser.env import BrowserEnv

    with BrowserEnv(url=PAGE, viewport=(width, height), device_scale_factor=args.dsf, pause=0,
                    allow_schemes=["data"]) as env:
        page = env.page
        default_pause = BrowserEnv.__init__.__kwdefaults__["pause"]

        def bare_observe(_: int) -> None:
            Image.open(BytesIO(page.screenshot(type="png"))).load()

        # Alternate between two points so no click is a no-op repeat.
        points = [(300, 400), (310, 420)]

        def bare_click(i: int) -> None:
            x, y = points[i % 2]
            page.mouse.click(x / args.dsf, y / args.dsf)

        def env_click(i: int) -> None:
            x, y = points[i % 2]
            env.execute(Click(x=x, y=y))

        obs_bare, obs_env = interleaved([bare_observe, lambda _: env.observe()], args.iterations)
        click_bare, click_env = interleaved([bare_click, env_click], args.iterations)
        env.pause = default_pause
        (click_paused,) = interleaved([env_click], max(5, args.iterations // 5))
        shot = env.observe()

    print(f"Chromium headless, viewport {width}x{height} CSS px, dsf {args.dsf:g} "
          f"(screenshot {shot.width}x{shot.height}), {args.iterations} iterations, interleaved")
    print(f"{'':<44} {'mean ms':>9} {'median ms':>9} {'ratio':>7}")
    print(row("page.screenshot() + PIL decode", obs_bare))
    print(row("env.observe()", obs_env, obs_bare))
    print(row("page.mouse.click()", click_bare))
    print(row("env.execute(Click) pause=0", click_env, click_bare))
    print(row(f"env.execute(Click) pause={default_pause:g} (default)", click_paused, click_bare))


if __name__ == "__main__":
    main()
