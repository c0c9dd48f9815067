"""Let Qwen2.5-VL sign up on a local demo page in headless Chromium.

    python examples/run_browser.py --model Qwen/Qwen2.5-VL-7B-Instruct
    python examples/run_browser.py --endpoint http://localhost:8000/v1
    python examples/run_browser.py --tiny        # offline smoke run, no weights needed

The same as: qwen-agent run "..." --env browser --allow-scheme file \
    --url file://.../examples/pages/signup.html
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _common import add_model_options, make_policy, run_task

from qwen_gui_agent import make_env

PAGE = Path(__file__).parent / "pages" / "signup.html"
"""A local page: the browser env opens only http(s) unless told, hence allow_schemes=["file"]."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(parser)
    parser.add_argument("--headed", action="store_true", help="show the browser window")
    args = parser.parse_args()
    policy = make_policy(args)
    with make_env("browser", url=PAGE.as_uri(), allow_schemes=["file"], headless=not args.headed) as env:
        return run_task(env, policy, "Sign up for the newsletter as Ada Lovelace.", args)


if __name__ == "__main__":
    raise SystemExit(main())
