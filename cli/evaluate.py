"""``qwen-agent eval``: measure a model on a GUI benchmark or on recorded runs."""

from __future__ import annotations

import argparse
import dataclasses
import sys
from typing import Any

from qwen_gui_agent.cli.arguments import Formatter, add_model_options, positive_int, wrap
from qwen_gui_agent.cli.exit_codes import EXIT_CODES, EXIT_USAGE

EVAL_EXIT_HELP = (f"exit status: 0 evaluated (whatever the accuracy), {EXIT_USAGE} usage or dataset "
                  f"error, {EXIT_CODES['error']} the model or env stopped working, "
                  f"{EXIT_CODES['interrupted']} interrupted (what was scored is kept)")

EPILOG = f"""\
examples:
  qwen-agent eval screenspot --data data/ScreenSpot-v2 --version 2 --batch-size 8
  qwen-agent eval screenspot-pro --data data/ScreenSpot-Pro --endpoint http://localhost:8000/v1 --concurrency 16
  qwen-agent eval androidcontrol --data data/android_control --level low --limit 500
  qwen-agent eval runs runs/heldout-* --tolerance 30 --model ./my-finetune
  qwen-agent eval miniwob --tasks click-button,click-link --episodes 20 --seed 0

Every suite asks the model exactly as a run does (same prompt, parser and coordinate
mapping). --predictions FILE.jsonl gets one line per sample as it is scored (input,
raw output, parsed action, correct, why); Ctrl-C keeps it, --resume continues it.

{EVAL_EXIT_HELP}"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "eval", help="measure a model on a GUI benchmark or on recorded runs",
        formatter_class=Formatter, epilog=EPILOG,
        description=wrap("Evaluate a model: grounding (ScreenSpot, ScreenSpot-Pro), offline "
                         "next-action accuracy (AndroidControl, your own recorded runs) or live "
                         "episodes (MiniWoB++). Prints a table of the results."),
    )
    suites = parser.add_subparsers(dest="suite", metavar="SUITE", required=True)

    def suite(name: str, help_text: str, example: str, offline: bool = True) -> argparse.ArgumentParser:
        p = suites.add_parser(name, help=help_text, formatter_class=Formatter,
                              description=wrap(help_text), epilog=f"example:\n  {example}\n\n{EVAL_EXIT_HELP}")
        p.set_defaults(handler=command, offline=offline)
        return p

    p = suite("screenspot", "ScreenSpot v1/v2 grounding: is the model's point inside the box?",
              "qwen-agent eval screenspot --data data/ScreenSpot-v2 --version 2")
    p.add_argument("--data", required=True, metavar="DIR",
                   help="holds screenspot_{mobile,desktop,web}[_v2].json and the image folder")
    p.add_argument("--version", type=int, choices=(1, 2), default=2, help="ScreenSpot version")
    p.add_argument("--images", metavar="DIR",
                   help="the screenshots (default: DIR/screenspot_imgs, v2 also screenspotv2_image)")
    _common(p)

    p = suite("screenspot-pro", "ScreenSpot-Pro grounding on professional software",
              "qwen-agent eval screenspot-pro --data data/ScreenSpot-Pro")
    p.add_argument("--data", required=True, metavar="DIR", help="holds annotations/*.json and images/")
    _common(p)

    p = suite("androidcontrol", "AndroidControl offline step accuracy (type, grounding, step)",
              "qwen-agent eval androidcontrol --data data/android_control --level high")
    p.add_argument("--data", required=True, metavar="DIR",
                   help="holds the android_control-*-of-* TFRecord files (and splits.json)")
    p.add_argument("--level", choices=("high", "low"), default="high",
                   help="high: the goal only; low: the goal and the step instruction")
    p.add_argument("--split", choices=("test", "validation", "train", "all"),
                   help="episodes of splits.json to use (default: test when splits.json is "
                        "there, else all)")
    _common(p)

    p = suite("runs", "your recorded runs as a test set: does the model repeat each recorded step?",
              "qwen-agent eval runs runs/heldout-* --tolerance 30")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="recorded run folders")
    p.add_argument("--tolerance", type=float, default=25.0, metavar="PX",
                   help="how far (screenshot pixels) a point may be from the recorded one")
    _common(p)

    p = suite("miniwob", "MiniWoB++ live in the browser env: success rate per task",
              "qwen-agent eval miniwob --tasks click-button,click-link --episodes 20 --seed 0",
              offline=False)
    p.add_argument("--tasks", required=True, metavar="A,B,...",
                   help="MiniWoB++ task names, comma-separated (e.g. click-button,click-link)")
    p.add_argument("--episodes", type=positive_int, default=10, metavar="N", help="episodes per task")
    p.add_argument("--seed", type=int, default=0, help="seed of the first episode (then +1 each)")
    p.add_argument("--max-steps", type=positive_int, default=10, metavar="N", help="steps per episode")
    p.add_argument("--time-limit", type=float, metavar="S",
                   help="the page's own episode timer and time-scaled reward (default: off; "
                        "the step limit ends an episode)")
    p.add_argument("--record", metavar="DIR", help="record each episode as a trajectory under DIR")
    _common(p, offline=False)


def _common(parser: argparse.ArgumentParser, offline: bool = True) -> None:
    add_model_options(parser)
    group = parser.add_argument_group("evaluation")
    group.add_argument("--limit", type=positive_int, metavar="N",
                       help="only the first N samples (episodes for miniwob)")
    group.add_argument("--out", metavar="RESULTS.json", help="write the metrics and tables as JSON")
    group.add_argument("--predictions", metavar="FILE.jsonl",
                       help="append one JSON line per sample as it is scored")
    group.add_argument("--resume", action="store_true",
                       help="continue --predictions FILE: skip the samples it holds")
    if offline:
        group.add_argument("--batch-size", type=positive_int, default=1, metavar="N",
                           help="local model: samples per generate call (left-padded; the same "
                                "answers as one by one)")
        group.add_argument("--concurrency", type=positive_int, metavar="N",
                           help="--endpoint: requests in flight at once (default: 4)")


def command(args: argparse.Namespace) -> int:
    from qwen_gui_agent.agent.evaluation import evaluate
    from qwen_gui_agent.cli.common import describe_exception, error, interrupt_on_sigterm
    from qwen_gui_agent.errors import DataError, UsageError
    from qwen_gui_agent.model.factory import build_policy

    batch = getattr(args, "batch_size", 1)
    concurrency = getattr(args, "concurrency", None) or (4 if args.endpoint and args.offline else 1)
    try:
        if args.resume and not args.predictions:
            raise UsageError("--resume continues a --predictions FILE: name it")
        if args.offline and args.concurrency and not args.endpoint:
            raise UsageError("--concurrency applies to --endpoint; a local model takes --batch-size")
        if args.offline and batch > 1 and args.endpoint:
            raise UsageError("--batch-size applies to a local model; with --endpoint use --concurrency")
        suite = _suite(args)
    except (UsageError, DataError) as exc:
        error(str(exc))
        return EXIT_USAGE
    interrupt_on_sigterm()
    try:
        policy = build_policy(**policy_options(args))
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # the model could not be loaded or reached
        error(describe_exception(exc))
        return EXIT_CODES["error"]
    model = model_stamp(args, policy)
    print(f"{suite.name}: {model['model']}" + (f" at {args.endpoint}" if args.endpoint else ""),
          file=sys.stderr, flush=True)
    try:
        with ProgressView(suite.name) as view:
            results = evaluate(suite, policy, limit=args.limit, predictions=args.predictions,
                               resume=args.resume, batch_size=batch, concurrency=concurrency,
                               model=model, on_progress=view.update)
    except (UsageError, DataError) as exc:
        error(str(exc))
        return EXIT_USAGE
    except Exception as exc:  # an env or backend that broke outside a sample
        error(describe_exception(exc))
        return EXIT_CODES["error"]
    print(results.text(), flush=True)
    if args.out:
        results.write(args.out)
        print(f"results: {args.out}", file=sys.stderr)
    if args.predictions:
        print(f"predictions: {args.predictions}", file=sys.stderr)
    if results.interrupted:
        return EXIT_CODES["interrupted"]
    if results.stopped:
        error(results.stopped)
        return EXIT_CODES["error"]
    return 0


def policy_options(args: argparse.Namespace) -> dict[str, Any]:
    """``build_policy``'s options from the model flags."""
    return {"model": args.model, "endpoint": args.endpoint, "family": args.family,
            "min_pixels": args.min_pixels, "max_pixels": args.max_pixels,
            "timeout": args.model_timeout}


def model_stamp(args: argparse.Namespace, policy: Any) -> dict[str, Any]:
    """What identifies the model in the results and the predictions file (resume checks it):
    its name, its family and the bounds of the image it sees."""
    name = getattr(policy, "model", None) if args.endpoint else getattr(policy, "name", None)
    bounds = getattr(policy, "image_bounds", None)
    dialect = getattr(policy, "dialect", None)
    return {"model": str(name or args.model), "family": dialect.name if dialect else None,
            "image_bounds": dataclasses.asdict(bounds) if bounds is not None else None}


def _suite(args: argparse.Namespace) -> Any:
    from qwen_gui_agent.agent import evaluation

    if args.suite == "screenspot":
        return evaluation.ScreenSpot(args.data, version=args.version, images=args.images)
    if args.suite == "screenspot-pro":
        return evaluation.ScreenSpotPro(args.data)
    if args.suite == "androidcontrol":
        return evaluation.AndroidControl(args.data, level=args.level, split=args.split)
    if args.suite == "runs":
        return evaluation.RecordedRuns(args.run_dirs, tolerance=args.tolerance)
    tasks = [t.strip() for t in args.tasks.split(",") if t.strip()]
    return evaluation.MiniWoB(tasks, episodes=args.episodes, seed=args.seed,
                              max_steps=args.max_steps, time_limit=args.time_limit,
                              record_dir=args.record)


class ProgressView:
    """A progress bar with the running accuracy on a terminal (``rich``); silent otherwise."""

    def __init__(self, suite: str) -> None:
        self.suite = suite
        self._bar: Any = None
        self._task: Any = None
        if sys.stderr.isatty():
            try:
                from rich.console import Console
                from rich.progress import (
                    BarColumn,
                    MofNCompleteColumn,
                    Progress,
                    TextColumn,
                    TimeElapsedColumn,
                )
            except ImportError:
                from qwen_gui_agent.errors import UsageError

                raise UsageError("the progress display needs `rich`: "
                                 "pip install 'qwen-gui-agent[eval]'") from None
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("{task.fields[accuracy]}"),
                                 TimeElapsedColumn(), console=Console(stderr=True), transient=True)
            self._task = self._bar.add_task(suite, total=None, accuracy="")

    def update(self, progress: Any) -> None:
        if self._bar is None:
            return
        accuracy = progress.accuracy
        shown = "" if accuracy is None else f"acc {100 * accuracy:.1f}%"
        if progress.errors:
            shown += f", {progress.errors} error(s)"
        self._bar.update(self._task, completed=progress.done, total=progress.total, accuracy=shown)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def __enter__(self) -> ProgressView:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
