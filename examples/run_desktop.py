"""Let Qwen2.5-VL drive an X desktop: by default a private Xvfb with a small Tk window.

    python examples/run_desktop.py --model Qwen/Qwen2.5-VL-7B-Instruct
    python examples/run_desktop.py --tiny                # offline smoke run
    python examples/run_desktop.py --display :0 --model ...   # your own desktop (careful!)

The same as: qwen-agent run "..." --env desktop --virtual-display 1024x768
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from contextlib import ExitStack

from _common import add_model_options, make_policy, run_task

from qwen_gui_agent import make_env
from qwen_gui_agent.envs.desktop.xvfb import VirtualDisplay

TASK = "Click the 'Click me!' button in the Tk window."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(parser)
    parser.add_argument("--display", help="drive this X display instead of a private Xvfb")
    args = parser.parse_args()
    policy = make_policy(args)
    with ExitStack() as stack:
        display = args.display
        if display is None:
            screen = stack.enter_context(VirtualDisplay(1024, 768))
            display = screen.display
            # Tk's own demo window ("Click me!" and "QUIT") is the app under test.
            app = subprocess.Popen([sys.executable, "-m", "tkinter"], env=screen.env)
            stack.callback(app.wait, 10)
            stack.callback(app.terminate)
            time.sleep(1.5)  # let the window map before the first screenshot
        env = stack.enter_context(make_env("desktop", display=display))
        return run_task(env, policy, TASK, args)


if __name__ == "__main__":
    raise SystemExit(main())
