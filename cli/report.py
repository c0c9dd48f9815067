"""``qwen-agent report``: one self-contained HTML page of a run."""

from __future__ import annotations

import argparse

from qwen_gui_agent.cli.arguments import Formatter, positive_int, wrap
from qwen_gui_agent.cli.exit_codes import EXIT_CODES, EXIT_USAGE


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report", help="write a self-contained HTML report of a run", formatter_class=Formatter,
        description=wrap("One HTML file (opens offline) with each step's screenshot, the action "
                         "drawn on it, the thought, the raw output, the outcome and the timings."),
        epilog="example:\n  qwen-agent report runs/20250101-120000-abcd --out report.html",
    )
    parser.add_argument("run_dir", metavar="RUN",
                        help="a run folder, or a folder of runs (then its latest run)")
    parser.add_argument("--out", metavar="FILE", help="the HTML file (default: report.html in RUN)")
    parser.add_argument("--max-width", type=positive_int, default=1280, metavar="PX",
                        help="shrink embedded screenshots to this width")
    parser.add_argument("--quality", type=positive_int, default=80, metavar="Q",
                        help="JPEG quality of the embedded screenshots (1-95)")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    from qwen_gui_agent.cli.common import error
    from qwen_gui_agent.errors import DataError
    from qwen_gui_agent.trajectories import latest_run, write_report

    try:
        path = write_report(latest_run(args.run_dir), args.out, max_width=args.max_width,
                            quality=args.quality)
    except DataError as exc:
        error(str(exc))
        return EXIT_USAGE
    except OSError as exc:
        error(str(exc))
        return EXIT_CODES["error"]
    print(f"report: {path}")
    return 0
