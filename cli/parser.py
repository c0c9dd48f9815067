"""The ``qwen-agent`` argument parser: one subcommand per module of this package.

Each subcommand module registers its options and its handler; none imports
anything heavy at module level, so ``qwen-agent --help`` stays instant.
"""

from __future__ import annotations

import argparse

from qwen_gui_agent.cli import batch, doctor, evaluate, export, replay, report, run
from qwen_gui_agent.cli.arguments import Formatter
from qwen_gui_agent.version import __version__

SUBCOMMANDS = (run, batch, replay, export, report, evaluate, doctor)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwen-agent", formatter_class=Formatter,
        description="Let Qwen2.5-VL drive a desktop, a browser or an Android device.",
        epilog="examples:\n"
               "  qwen-agent doctor\n"
               "  qwen-agent run \"Find the weather in Paris\" --env browser --url https://duckduckgo.com\n"
               "  qwen-agent report runs/LATEST_RUN\n\n"
               "Run `qwen-agent COMMAND --help` for each command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in SUBCOMMANDS:
        module.register(sub)
    return parser
