"""RPA: fixed DOM steps where the page is known, one model step where it is not.

Playwright fills the form through ``env.page`` (exact and fast); Qwen2.5-VL
finds the Sign-up button from the screenshot (``click`` = one model call, the
point in screenshot pixels). A model answer that points nowhere is an ordinary
exception, so the script can fall back to a fixed step, as real RPA does.

    python examples/rpa_mixed.py --model Qwen/Qwen2.5-VL-3B-Instruct
    python examples/rpa_mixed.py --tiny     # offline: the tiny model misses, the fallback clicks
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _common import add_model_options, make_policy

from qwen_gui_agent import make_env
from qwen_gui_agent.agent import GroundingError, click
from qwen_gui_agent.envs import ActionError
from qwen_gui_agent.errors import ParseError

PAGE = Path(__file__).parent / "pages" / "signup.html"
"""A local page: the browser env opens only http(s) unless told, hence allow_schemes=["file"]."""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_model_options(parser)
    args = parser.parse_args()
    policy = make_policy(args)
    with make_env("browser", url=PAGE.as_uri(), allow_schemes=["file"]) as env:
        env.page.fill("#name", "Ada Lovelace")           # fixed steps: the DOM is known
        env.page.check("#news")
        try:                                             # model step: find it on the screen
            x, y = click(env, policy, "the green Sign up button")
            print(f"the model clicked ({x}, {y})")
        except (ParseError, GroundingError, ActionError) as exc:
            print(f"the model did not find the button ({type(exc).__name__}); clicking it by selector")
            env.page.click("#signup")
        greeting = env.page.text_content("#greeting")
        print(f"page title: {env.page.title()!r}; greeting: {greeting!r}")
        return 0 if env.page.title() == "Signed up" else 1


if __name__ == "__main__":
    raise SystemExit(main())
