"""Shared by the example scripts: the model options, the policy they choose, the run itself.

``--model`` / ``--endpoint`` pick a real Qwen2.5-VL exactly as ``qwen-agent run``
does. ``--tiny`` (or ``QWEN_AGENT_EXAMPLE_TINY=1``) uses a random-weight tiny
Qwen2.5-VL built offline instead: it will not solve anything, but the whole
path (screenshot, prompt, generate, parse, loop, recording) runs end to end.
"""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from qwen_gui_agent.envs import Env
    from qwen_gui_agent.model.policy import Policy


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", help="hub id or local checkpoint (or the served name with --endpoint)")
    parser.add_argument("--endpoint", help="an OpenAI-compatible server, e.g. http://localhost:8000/v1")
    parser.add_argument("--tiny", action="store_true", default=bool(os.environ.get("QWEN_AGENT_EXAMPLE_TINY")),
                        help="use an offline random-weight tiny model (runs anywhere, solves nothing)")
    parser.add_argument("--max-steps", type=int, default=10)
    parser.add_argument("--record", default="runs", help="where trajectories go")


def make_policy(args: argparse.Namespace) -> Policy:
    """The tiny offline model, or whatever ``--model`` / ``--endpoint`` name."""
    from qwen_gui_agent.model.factory import build_policy

    if args.tiny:
        return build_policy(model="tiny", max_pixels=256 * 28 * 28)
    return build_policy(model=args.model, endpoint=args.endpoint)


def run_task(env: Env, policy: Policy, task: str, args: argparse.Namespace) -> int:
    """Run ``task`` with the terminal live view; 0 unless the run itself broke."""
    from qwen_gui_agent import Agent
    from qwen_gui_agent.cli.live import LiveView

    view = LiveView()
    agent = Agent(policy, env, max_steps=args.max_steps, record_dir=args.record, on_step=view.step)
    view.start(task, [f"env {env.kind}, policy {type(policy).__name__}"])
    result = agent.run(task)
    view.summary(result)
    return 1 if result.status == "error" else 0
