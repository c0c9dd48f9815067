"""AndroidEnv overhead over bare adbutils, against the device simulator, in one run.

Starts a private adb server and an :class:`AdbDeviceSimulator`, then times, in
alternation so machine noise hits both alike:

- ``device.screenshot()`` (adbutils: ``screencap -p`` + PNG decode) vs ``env.observe()``
  (the same screenshot, with a concurrent shell call for size, rotation and activity);
- ``device.click(x, y)`` vs ``env.execute(Click(...))`` (checks + mapping + exit status).

Run: ``python benchmarks/bench_env_android.py [--rounds 30]``.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable


def _time(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args(argv)

    from qwen_gui_agent.actions.models import Click
    from qwen_gui_agent.envs.android.adb_server import private_adb_server
    from qwen_gui_agent.envs.android.env import AndroidEnv
    from qwen_gui_agent.envs.android.simulator import AdbDeviceSimulator

    with private_adb_server() as client:
        with AdbDeviceSimulator() as sim:
            sim.connect(client)
            device = client.device(sim.serial)
            with AndroidEnv(sim.serial, adb_port=client.port) as env:
                env.observe()  # warm-up: features, first PNG encode, fonts
                device.screenshot()
                pairs = {
                    "screenshot": (device.screenshot, env.observe),
                    "tap": (lambda: device.click(800, 600),
                            lambda: env.execute(Click(x=800, y=600))),
                }
                times: dict[str, tuple[list[float], list[float]]] = {k: ([], []) for k in pairs}
                for _ in range(args.rounds):
                    for name, (bare, wrapped) in pairs.items():
                        times[name][0].append(_time(bare))
                        times[name][1].append(_time(wrapped))
            client.disconnect(sim.serial)

    print(f"AndroidEnv vs adbutils through a real adb server + simulator, {args.rounds} rounds")
    print(f"{'operation':<12}{'adbutils ms':>14}{'env ms':>10}{'ratio':>8}")
    for name, (bare, wrapped) in times.items():
        bare_ms, env_ms = statistics.mean(bare) * 1e3, statistics.mean(wrapped) * 1e3
        print(f"{name:<12}{bare_ms:>14.2f}{env_ms:>10.2f}{env_ms / bare_ms:>8.2f}")


if __name__ == "__main__":
    main()
