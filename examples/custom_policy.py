"""A policy of your own: any object with ``decide(task, observation, history)`` drives the Agent.

This one needs no model at all. It finds the page's light-blue name field and
its green Sign-up button *in the screenshot* by their colours, and plans:
click the field, type the name, click the button, then check the page title
and terminate. Everything else (guard, recording, stuck detection, the live
view) is the same machinery a Qwen2.5-VL run uses.

    python examples/custom_policy.py            # headless Chromium, fully offline
    python examples/custom_policy.py --headed   # watch it

The trajectory goes to ``runs/`` (``--record DIR``). ``examples/demo.py`` runs
this policy too, then reports, exports and replays its run.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Sequence

from PIL import Image, ImageChops

from qwen_gui_agent import Agent, make_env
from qwen_gui_agent.actions import Click, Terminate, TypeText
from qwen_gui_agent.actions.decision import Decision, HistoryEntry
from qwen_gui_agent.envs import Observation

PAGE = Path(__file__).parent / "pages" / "signup.html"
"""A local page: the browser env opens only http(s) unless told, hence allow_schemes=["file"]."""
FIELD_COLOUR = (0xBB, 0xDE, 0xFB)   # #bbdefb, the name field's background
BUTTON_COLOUR = (0x2E, 0x7D, 0x32)  # #2e7d32, the Sign-up button


def find_colour(image: Image.Image, colour: tuple[int, int, int]) -> tuple[int, int] | None:
    """The centre of the pixels of exactly ``colour``, in screenshot pixels (or None)."""
    bands = image.convert("RGB").split()
    masks = [band.point(lambda v, want=want: 255 if v == want else 0) for band, want in zip(bands, colour)]
    box = ImageChops.multiply(ImageChops.multiply(masks[0], masks[1]), masks[2]).getbbox()
    return None if box is None else ((box[0] + box[2]) // 2, (box[1] + box[3]) // 2)


class SignUpPolicy:
    """Rule-based: the plan is fixed, the coordinates come from the screenshot."""

    def __init__(self, name: str) -> None:
        self.name = name

    def decide(self, task: str, observation: Observation, history: Sequence[HistoryEntry]) -> Decision:
        if observation.title == "Signed up":
            return Decision(actions=(Terminate(status="success"),), thought="The greeting is shown.")
        step = len(history)
        if step == 1:
            return Decision(actions=(TypeText(text=self.name),), thought="Type the name.")
        target, what = (FIELD_COLOUR, "name field") if step == 0 else (BUTTON_COLOUR, "Sign-up button")
        point = find_colour(observation.image, target)
        if point is None or step > 2:
            return Decision(actions=(Terminate(status="failure"),), thought=f"No {what} on screen.")
        return Decision(actions=(Click(x=point[0], y=point[1]),), thought=f"Click the {what}.")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--name", default="Ada Lovelace")
    parser.add_argument("--headed", action="store_true")
    parser.add_argument("--record", default="runs", help="where trajectories go (default: runs/)")
    args = parser.parse_args()

    with make_env("browser", url=PAGE.as_uri(), allow_schemes=["file"], headless=not args.headed) as env:
        agent = Agent(SignUpPolicy(args.name), env, max_steps=6, record_dir=args.record,
                      on_step=lambda s: print(f"step {s.index}: {s.actions[0].type if s.actions else '-'}"
                                              f"  {s.decision.thought if s.decision else s.error}"))
        result = agent.run(f"Sign up for the newsletter as {args.name}")
        greeting = env.page.text_content("#greeting")
    print(f"{result.status} in {len(result.steps)} steps; page says: {greeting!r}")
    print(f"trajectory: {result.trajectory_path}")
    return 0 if result.ok and greeting == f"Welcome, {args.name}!" else 1


if __name__ == "__main__":
    raise SystemExit(main())
