"""The ``qwen-agent`` command: run, replay, export, report, doctor.

A leaf: the library never imports it. Each subcommand's module parses its
options and calls the library, so whatever the CLI does a script can do too.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Callable


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``qwen-agent`` and ``python -m qwen_gui_agent``; returns the exit status."""
    import argparse

    from qwen_gui_agent.cli.exit_codes import EXIT_CODES
    from qwen_gui_agent.cli.parser import build_parser

    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("qwen-agent: interrupted", file=sys.stderr)
        return EXIT_CODES["interrupted"]
