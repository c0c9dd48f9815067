"""Let Qwen2.5-VL drive an Android device: by default the adb device simulator.

The simulator (``qwen_gui_agent.envs.android.simulator``) speaks the adb wire
protocol, so the real adb server and the real AndroidEnv drive it exactly as a
phone. Pass ``--serial`` to drive a real device (USB debugging on) instead.

    python examples/run_android.py --model Qwen/Qwen2.5-VL-7B-Instruct
    python examples/run_android.py --tiny                    # offline smoke run
    python examples/run_android.py --serial emulator-5554 --endpoint http://localhost:8000/v1

The same as: qwen-agent run "..." --env android --serial SERIAL
"""

from __future__ import annotations

import argparse
from contextlib import ExitStack

from _common import add_model_options, make_policy, run_task

from qwen_gui_agent import make_env

TASK = "Type 'hello' into the text field of the demo app."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(parser)
    parser.add_argument("--serial", help="a real device's adb serial (default: the simulator)")
    args = parser.parse_args()
    policy = make_policy(args)
    with ExitStack() as stack:
        options: dict[str, object] = {"serial": args.serial}
        if args.serial is None:
            from qwen_gui_agent.envs.android.adb_server import private_adb_server
            from qwen_gui_agent.envs.android.simulator import AdbDeviceSimulator

            # adb's own server on a free port, so yours on 5037 and its devices stay alone
            client = stack.enter_context(private_adb_server())
            sim = stack.enter_context(AdbDeviceSimulator(width=1080, height=2400))
            options = {"serial": sim.connect(client), "adb_port": client.port}
        env = stack.enter_context(make_env("android", **options))
        return run_task(env, policy, TASK, args)


if __name__ == "__main__":
    raise SystemExit(main())
