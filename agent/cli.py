"""The ``qwen-agent`` command: run, replay, export, report, doctor.

This module only parses arguments and dispatches; each subcommand imports
what it needs when it runs, so ``qwen-agent --help`` stays instant. Exit
codes (:data:`EXIT_CODES`) let shell scripts tell the outcomes apart.
"""

from __future__ import annotations

import argparse
import sys
import textwrap
from typing import Callable, Sequence

from qwen_gui_agent import __version__
from qwen_gui_agent.model.defaults import DEFAULT_MODEL, SMALL_MODEL, TINY_MODEL

EXIT_CODES: dict[str, int] = {
    "success": 0,
    "failure": 1,
    "max_steps": 3,
    "stuck": 4,
    "error": 5,
    "interrupted": 130,
}
"""Process exit status per run status; 2 is left to usage errors (argparse's)."""
EXIT_USAGE = 2
EXIT_MISMATCH = 6
"""``replay`` only: stopped at a screen that differs from the recording."""

ENVS = ("desktop", "browser", "android")

_EXIT_HELP = "exit status: " + ", ".join(f"{code} {name}" for name, code in EXIT_CODES.items()) \
    + f", {EXIT_USAGE} usage error"
_REPLAY_EXIT_HELP = "exit status: 0 completed (or the model finished with success), 1 failure, " \
    f"{EXIT_MISMATCH} stopped at a mismatch, 5 error, 130 interrupted, {EXIT_USAGE} usage error"

RUN_EPILOG = f"""\
examples:
  qwen-agent run "Search for 'qwen' and open the first result" --env browser --url https://duckduckgo.com
  qwen-agent run "Open Settings and turn on dark mode" --env android --serial emulator-5554
  qwen-agent run "Open the text editor and write hello" --env desktop --virtual-display 1280x800
  qwen-agent run "Log in as {{USER}} with password {{PASSWORD}}" --env browser --url http://localhost:8000 \\
      --secret USER=alice --secret PASSWORD="$PW" --confirm sensitive
  qwen-agent run "..." --env browser --endpoint http://gpu-box:8000/v1 --model Qwen/Qwen2.5-VL-72B-Instruct

The model: --model takes a Hugging Face hub id or a local checkpoint directory
(default {DEFAULT_MODEL} when CUDA is available, else {SMALL_MODEL}).
--model {TINY_MODEL} uses a random-weight model built offline: it checks the whole
pipeline on a machine without weights and solves nothing.
With --endpoint the model runs on an OpenAI-compatible server (vLLM, SGLang)
and --model is the name it serves.

Secrets: --secret NAME=VALUE (or QWEN_AGENT_SECRET_NAME=VALUE in the environment);
write {{NAME}} in the task. The model sees only the placeholder; the value is typed
for it and never written to the trajectory.

{_EXIT_HELP}"""


def _wrap(text: str) -> str:
    """A description as paragraphs of terminal width (the formatter keeps layout as given)."""
    return textwrap.fill(text, width=78)


class _Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's layout and shows the defaults worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, [], argparse.SUPPRESS) and action.option_strings \
                and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def _screen_size(text: str) -> tuple[int, int]:
    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 1 or int(height) < 1:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x800, got {text!r}")
    return int(width), int(height)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _speed(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"expected a speed factor >= 0, got {text!r}")
    return value


def _add_model_options(parser: argparse.ArgumentParser, description: str | None = None) -> None:
    group = parser.add_argument_group("model", description)
    group.add_argument("--model", metavar="ID_OR_PATH",
                       help="hub id or local checkpoint; with --endpoint, the served model name "
                            f"(default: {DEFAULT_MODEL} with CUDA, {SMALL_MODEL} without; "
                            f"'{TINY_MODEL}': an offline random-weight model that solves nothing)")
    group.add_argument("--endpoint", metavar="URL",
                       help="OpenAI-compatible chat-completions server, e.g. http://localhost:8000/v1")
    group.add_argument("--max-pixels", type=_positive_int, metavar="N",
                       help="largest screenshot area fed to the model (lower it on a small GPU)")
    group.add_argument("--min-pixels", type=_positive_int, metavar="N",
                       help="smallest screenshot area fed to the model")


def _add_env_options(parser: argparse.ArgumentParser, required: bool = True,
                     settle: bool = True) -> None:
    group = parser.add_argument_group("environment")
    group.add_argument("--env", choices=ENVS, required=required,
                       help="what the agent drives" if required else
                            "where to replay (default: the recorded env, and for the browser "
                            "its start page and viewport)")
    group.add_argument("--url", help="browser: the page to open first")
    group.add_argument("--headed", action="store_true", help="browser: show the window")
    group.add_argument("--viewport", type=_screen_size, metavar="WxH",
                       help="browser: the page's size in CSS pixels (default: 1280x800"
                            + (")" if required else ", or the recorded one)"))
    group.add_argument("--serial", help="android: the adb serial (default: the only device)")
    group.add_argument("--adb-port", type=_positive_int, metavar="PORT",
                       help="android: the adb server's port (default: $ANDROID_ADB_SERVER_PORT or 5037)")
    group.add_argument("--display", help="desktop: the X display, e.g. :0 (default: $DISPLAY)")
    group.add_argument("--virtual-display", type=_screen_size, metavar="WxH",
                       help="desktop: start a private Xvfb display of this size for the run")
    if settle:
        group.add_argument("--settle", action="store_true",
                           help="wait for the screen to stop changing before each observation")


def _add_output_options(group: argparse._ActionsContainer, *, record_default: str | None,
                        record_help: str, secret_help: str, json_help: str) -> None:
    """``--record``, ``--no-record``, ``--secret`` and ``--json``: shared by ``run`` and
    ``replay`` (both record a trajectory, type secrets and report), each with its own help."""
    group.add_argument("--record", default=record_default, metavar="DIR", help=record_help)
    group.add_argument("--no-record", action="store_true", help="write no trajectory")
    group.add_argument("--secret", action="append", default=[], metavar="NAME=VALUE",
                       help=f"{secret_help}; repeatable (or QWEN_AGENT_SECRET_NAME=VALUE)")
    group.add_argument("--json", action="store_true", help=json_help)


def _add_run(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "run", help="let the model do a task", formatter_class=_Formatter,
        description="Run the agent on TASK: observe, ask the model, act, until it finishes.",
        epilog=RUN_EPILOG,
    )
    parser.add_argument("task", metavar="TASK", help="what to do, in plain words")
    _add_env_options(parser)
    _add_model_options(parser)
    group = parser.add_argument_group("run")
    group.add_argument("--max-steps", type=_positive_int, default=30, metavar="N", help="give up after this many steps")
    group.add_argument("--confirm", choices=("never", "always", "sensitive"), default="never",
                       help="ask on the terminal before every action (always) or before typing, "
                            "opening apps, finishing and paying/deleting/sending (sensitive)")
    group.add_argument("--dry-run", action="store_true",
                       help="decide and record each step but perform no action")
    _add_output_options(
        group, record_default="runs", record_help="write the trajectory to a new folder under DIR",
        secret_help="a value the model refers to as {NAME}",
        json_help="print one JSON object per step and a summary, instead of the live view",
    )
    parser.set_defaults(handler=_run)


def _add_replay(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "replay", help="re-execute a recorded run on a live env", formatter_class=_Formatter,
        description=_wrap("Replay the actions of a recorded run. Before each step the screen is "
                          "compared with the recorded one; --on-mismatch says what happens when "
                          "they differ. The replay records a trajectory of its own."),
        epilog="examples:\n"
               "  qwen-agent replay runs/20250101-120000-abcd --env browser --url http://localhost:8000\n"
               "  qwen-agent replay RUN --env browser --on-mismatch model --endpoint http://localhost:8000/v1\n\n"
               "The env, and a browser's start page and viewport, default to the recorded ones.\n\n"
               + _REPLAY_EXIT_HELP,
    )
    parser.add_argument("run_dir", metavar="RUN", help="a run folder (or its trajectory file)")
    _add_env_options(parser, required=False, settle=False)
    _add_model_options(parser, "used only with --on-mismatch model")
    parser.add_argument("--on-mismatch", choices=("stop", "continue", "model"), default="stop",
                        help="when the screen differs from the recording: stop, go on anyway, "
                             "or let the model decide that step")
    parser.add_argument("--speed", type=_speed, default=1.0,
                        help="replay faster (>1) or slower (<1) than recorded; 0: no pauses")
    _add_output_options(
        parser, record_default=None,
        record_help="write the replay's trajectory to a new folder under DIR (default: next to RUN)",
        secret_help="the value of a {NAME} the recorded run typed",
        json_help="print the result as JSON",
    )
    parser.set_defaults(handler=_replay)


def _add_export(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "export", help="turn runs into fine-tuning data", formatter_class=_Formatter,
        description=_wrap("Write one training sample per step of the selected runs, with the "
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
    parser.add_argument("--min-steps", type=_positive_int, metavar="N", help="skip shorter runs")
    parser.add_argument("--max-steps", type=_positive_int, metavar="N", help="skip longer runs")
    parser.set_defaults(handler=_export)


def _add_report(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "report", help="write a self-contained HTML report of a run", formatter_class=_Formatter,
        description=_wrap("One HTML file (opens offline) with each step's screenshot, the action "
                          "drawn on it, the thought, the raw output, the outcome and the timings."),
        epilog="example:\n  qwen-agent report runs/20250101-120000-abcd --out report.html",
    )
    parser.add_argument("run_dir", metavar="RUN", help="a run folder")
    parser.add_argument("--out", metavar="FILE", help="the HTML file (default: report.html in RUN)")
    parser.add_argument("--max-width", type=_positive_int, default=1280, metavar="PX",
                        help="shrink embedded screenshots to this width")
    parser.add_argument("--quality", type=_positive_int, default=80, metavar="Q",
                        help="JPEG quality of the embedded screenshots (1-95)")
    parser.set_defaults(handler=_report)


def _add_doctor(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "doctor", help="check what is installed and reachable", formatter_class=_Formatter,
        description=_wrap("Check the display, Xvfb, xdotool, Chromium, adb and its devices, the "
                          "GPU, torch/transformers and the model files. Each line says OK, MISSING "
                          "(with the command that fixes it) or OPTIONAL (missing, but not needed)."),
        epilog="examples:\n  qwen-agent doctor\n  qwen-agent doctor --env browser --strict\n"
               "  qwen-agent doctor --model /models/Qwen2.5-VL-7B-Instruct\n\n"
               "exit status: 0, or with --strict 1 when something is MISSING",
    )
    parser.add_argument("--env", choices=ENVS, action="append",
                        help="check only what this env needs (repeatable; default: all)")
    parser.add_argument("--model", metavar="ID_OR_PATH", help="check this model's files")
    parser.add_argument("--endpoint", metavar="URL", help="check this OpenAI-compatible server")
    parser.add_argument("--strict", action="store_true", help="exit 1 when anything is MISSING")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.set_defaults(handler=_doctor)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwen-agent", formatter_class=_Formatter,
        description="Let Qwen2.5-VL drive a desktop, a browser or an Android device.",
        epilog="examples:\n"
               "  qwen-agent doctor\n"
               "  qwen-agent run \"Find the weather in Paris\" --env browser --url https://duckduckgo.com\n"
               "  qwen-agent report runs/LATEST_RUN\n\n"
               "Run `qwen-agent COMMAND --help` for each command's options.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for add in (_add_run, _add_replay, _add_export, _add_report, _add_doctor):
        add(sub)
    return parser


def _run(args: argparse.Namespace) -> int:
    from qwen_gui_agent.agent.commands import run_command

    return run_command(args)


def _replay(args: argparse.Namespace) -> int:
    from qwen_gui_agent.agent.commands import replay_command

    return replay_command(args)


def _export(args: argparse.Namespace) -> int:
    from qwen_gui_agent.agent.commands import export_command

    return export_command(args)


def _report(args: argparse.Namespace) -> int:
    from qwen_gui_agent.agent.commands import report_command

    return report_command(args)


def _doctor(args: argparse.Namespace) -> int:
    import json

    from qwen_gui_agent.agent import doctor

    envs = dict.fromkeys(args.env) if args.env else doctor.AREAS
    checks = doctor.run_checks(envs, model=args.model, endpoint=args.endpoint)
    print(json.dumps(doctor.as_json(checks), indent=1) if args.json else doctor.format_report(checks))
    missing = any(check.label == "MISSING" for check in checks)
    return 1 if args.strict and missing else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``qwen-agent`` and ``python -m qwen_gui_agent``; returns the exit status."""
    args = build_parser().parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except KeyboardInterrupt:
        print("qwen-agent: interrupted", file=sys.stderr)
        return EXIT_CODES["interrupted"]
