"""``qwen-agent batch``: many tasks over many envs at once, on Ray (local or a cluster)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from qwen_gui_agent.cli.arguments import (
    Formatter,
    add_model_options,
    positive_float,
    positive_int,
    screen_size,
)
from qwen_gui_agent.cli.exit_codes import EXIT_CODES, EXIT_USAGE

if TYPE_CHECKING:
    from qwen_gui_agent.agent.batch import BatchConfig
    from qwen_gui_agent.agent.secrets import Secrets

EPILOG = f"""\
examples:
  qwen-agent batch tasks.jsonl --env browser --workers 8 --out out --endpoint http://gpu:8000/v1
  qwen-agent batch tasks.jsonl --env android --serials emulator-5554,emulator-5556 --out out \\
      --model Qwen/Qwen2.5-VL-7B-Instruct
  qwen-agent batch tasks.jsonl --env desktop --workers 4 --out out --endpoint http://gpu:8000/v1 --resume
  qwen-agent batch tasks.jsonl --env browser --workers 64 --out /shared/out --ray-address auto \\
      --endpoint http://gpu:8000/v1

TASKS.jsonl holds one task per line:
  {{"id": "signup-1", "task": "Sign up as Ada", "env": {{"url": "http://localhost:8000/signup"}}}}
env options per task: browser url; android app or activity; desktop command.

Each worker owns one env for its life (a headless browser, a private Xvfb
display, or one Android device) and takes the next task when it is free.
--endpoint shares one server among all workers; a local --model is loaded once
(per GPU) in a model actor the workers call. Trajectories go to OUT/runs/<id>/,
one line per finished task to OUT/results.jsonl. Ctrl-C stops handing out
tasks and lets running ones finish their step; --resume runs what is left.

exit status: 0 every task has a result line, {EXIT_USAGE} usage error, \
{EXIT_CODES["error"]} the batch could not run (or tasks were left: no worker), \
{EXIT_CODES["interrupted"]} interrupted"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "batch", help="run many tasks on many envs at once (Ray)", formatter_class=Formatter,
        description="Run every task of TASKS.jsonl on a pool of env workers sharing one model.",
        epilog=EPILOG,
    )
    parser.add_argument("tasks", metavar="TASKS.jsonl", help="one JSON task per line")
    group = parser.add_argument_group("environment")
    group.add_argument("--env", choices=("browser", "android", "desktop"), required=True,
                       help="what every worker drives")
    group.add_argument("--url", help="browser: the start page of tasks that name none")
    group.add_argument("--viewport", type=screen_size, metavar="WxH",
                       help="browser: each page's size in CSS pixels (default: 1280x800)")
    group.add_argument("--serials", type=_serials, metavar="A,B,...",
                       help="android: the devices, one worker each (default: every device "
                            "the adb server lists, or the cluster declares)")
    group.add_argument("--adb-port", type=positive_int, metavar="PORT",
                       help="android: the adb server's port (default: $ANDROID_ADB_SERVER_PORT or 5037)")
    group.add_argument("--virtual-display", type=screen_size, metavar="WxH",
                       help="desktop: the size of each worker's private Xvfb display (default: 1280x800)")
    group.add_argument("--settle", action="store_true",
                       help="wait for the screen to stop changing before each observation")
    add_model_options(parser)
    group = parser.add_argument_group("batch")
    group.add_argument("--out", required=True, metavar="DIR",
                       help="output folder: runs/<id>/ trajectories, results.jsonl, summary.json")
    group.add_argument("--workers", type=positive_int, metavar="N",
                       help="env workers running at once (default: one per Android device, else 1)")
    group.add_argument("--max-steps", type=positive_int, default=30, metavar="N",
                       help="step limit of each task")
    group.add_argument("--confirm", choices=("never",), default="never",
                       help="a batch cannot stop to ask, so never")
    group.add_argument("--retries", type=_count, default=1, metavar="K",
                       help="run a task again up to K times when its env breaks or its worker dies")
    group.add_argument("--task-timeout", type=positive_float, metavar="S",
                       help="end a task as 'timeout' once it has run S seconds (between two steps)")
    group.add_argument("--ray-address", metavar="ADDR",
                       help="a running Ray cluster: auto, HOST:PORT or ray://HOST:PORT "
                            "(default: start a local Ray for this batch)")
    group.add_argument("--resume", action="store_true",
                       help="run only the tasks without a line in OUT/results.jsonl")
    group.add_argument("--secret", action="append", default=[], metavar="NAME=VALUE",
                       help="a value the model refers to as {NAME}; repeatable "
                            "(or QWEN_AGENT_SECRET_NAME=VALUE)")
    group.add_argument("--json", action="store_true",
                       help="print one JSON object per event and a summary, instead of the progress bar")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    from qwen_gui_agent.agent.batch import BatchRunner, load_tasks
    from qwen_gui_agent.cli.batch_view import make_view
    from qwen_gui_agent.cli.common import describe_exception, error, secrets_from
    from qwen_gui_agent.errors import DataError, QwenAgentError, UsageError

    try:
        secrets = secrets_from(args.secret)
        tasks = load_tasks(args.tasks, args.env)
        runner = BatchRunner(tasks, _config(args, secrets))
    except (UsageError, DataError) as exc:
        error(str(exc))
        return EXIT_USAGE
    view = make_view(json=args.json, total=len(tasks), redact=secrets.redact,
                     redact_data=secrets.redact_data, stream=sys.stdout)
    runner.on_event = view.event
    try:  # Ray prints notices (a worker died...) on stdout: keep them out of the JSON lines
        with _stop_on_signals(runner.stop), contextlib.redirect_stdout(sys.stderr):
            summary = runner.run()
    except (UsageError, DataError) as exc:
        error(secrets.redact(str(exc)))
        return EXIT_USAGE
    except QwenAgentError as exc:
        error(secrets.redact(describe_exception(exc)))
        return EXIT_CODES["error"]
    finally:
        view.close()
    view.summary(summary, results=str(runner.config.out))
    if summary.interrupted:
        return EXIT_CODES["interrupted"]
    return EXIT_CODES["error"] if summary.unfinished else 0


def _config(args: argparse.Namespace, secrets: Secrets) -> BatchConfig:
    """The batch's settings from the flags; UsageError on a flag of another env."""
    from qwen_gui_agent.agent.batch import BatchConfig
    from qwen_gui_agent.errors import UsageError

    own = {"browser": ("url", "viewport"), "android": ("serials", "adb_port"),
           "desktop": ("virtual_display",)}
    stray = [name for kind, names in own.items() if kind != args.env for name in names
             if getattr(args, name) is not None]
    if stray:
        flags = ", ".join("--" + name.replace("_", "-") for name in stray)
        raise UsageError(f"{flags} {'does' if len(stray) == 1 else 'do'} not apply to the {args.env} env")
    env_options: dict[str, Any] = {}
    if args.env == "browser":
        env_options["headless"] = True
        if args.viewport:
            env_options["viewport"] = args.viewport
    return BatchConfig(
        kind=args.env, out=args.out, workers=args.workers, env_options=env_options,
        start_url=args.url, serials=args.serials, adb_port=args.adb_port,
        screen=args.virtual_display or (1280, 800), model=args.model, endpoint=args.endpoint,
        family=args.family,
        min_pixels=args.min_pixels, max_pixels=args.max_pixels, model_timeout=args.model_timeout,
        max_steps=args.max_steps, settle=args.settle, secrets=secrets, retries=args.retries,
        task_timeout=args.task_timeout, ray_address=args.ray_address, resume=args.resume,
    )


@contextlib.contextmanager
def _stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """First Ctrl-C (or SIGTERM): stop handing out tasks and let running steps finish.
    A second one: KeyboardInterrupt, running tasks are abandoned."""
    asked = False

    def handler(signum: int, frame: Any) -> None:
        nonlocal asked
        if asked:
            raise KeyboardInterrupt
        asked = True
        stop()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


def _serials(text: str) -> list[str]:
    serials = [s.strip() for s in text.split(",") if s.strip()]
    if not serials or len(set(serials)) != len(serials):
        raise argparse.ArgumentTypeError(f"expected distinct serials separated by commas, got {text!r}")
    return serials


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)
