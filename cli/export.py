"""``qwen-agent export``: recorded runs as fine-tuning data."""

from __future__ import annotations

import argparse
import sys

from qwen_gui_agent.cli.arguments import Formatter, positive_int, wrap
from qwen_gui_agent.cli.exit_codes import EXIT_CODES, EXIT_USAGE


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export", help="turn runs into fine-tuning data", formatter_class=Formatter,
        description=wrap("Write one training sample per step of the selected runs, with the "
                         "screenshots resized to the model frame and the tool calls in model pixels."),
        epilog="examples:\n"
               "  qwen-agent export runs/ --format qwen-vl-finetune --out data/sft --status success\n"
               "  qwen-agent export runs/a runs/b --format llamafactory --out data/lf --min-steps 2",
    )
    parser.add_argument("runs", nargs="+", metavar="RUN",
                        help="run folders; a folder of run folders (e.g. runs/) counts as all of them")
    parser.add_argument("--format", required=True, choices=("qwen-vl-finetune", "llamafactory"),
                        help="the training framework's layout")
    parser.add_argument("--out", required=True, metavar="DIR", help="output folder")
    parser.add_argument("--status", action="append", metavar="STATUS",
                        help="keep only runs that ended with this status (repeatable): "
                             f"{', '.join(EXIT_CODES)}, or incomplete (a killed run)")
    parser.add_argument("--min-steps", type=positive_int, metavar="N", help="skip shorter runs")
    parser.add_argument("--max-steps", type=positive_int, metavar="N", help="skip longer runs")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    from qwen_gui_agent.cli.common import error
    from qwen_gui_agent.errors import DataError, UsageError
    from qwen_gui_agent.trajectories import export

    try:
        summary = export(args.runs, args.out, format=args.format, status=args.status,
                         min_steps=args.min_steps, max_steps=args.max_steps)
    except (UsageError, DataError) as exc:  # the runs or filters given are unusable
        error(str(exc))
        return EXIT_USAGE
    except OSError as exc:
        error(str(exc))
        return EXIT_CODES["error"]
    for warning in summary.warnings:
        print(f"qwen-agent: warning: {warning}", file=sys.stderr)
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(summary.skipped_steps.items()))
    unreadable = f", {len(summary.skipped_runs)} unreadable and skipped" if summary.skipped_runs else ""
    print(f"exported {summary.samples} sample(s) with {summary.images} image(s) from "
          f"{summary.runs} run(s) ({summary.runs_filtered} filtered out{unreadable}) as {summary.format}")
    if skipped:
        print(f"steps without a sample: {skipped}")
    print(f"data: {summary.data_file}")
    return 0
