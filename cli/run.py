"""``qwen-agent run``: let the model do a task on a live env."""

from __future__ import annotations

import argparse
import os
from typing import Any

from qwen_gui_agent.cli.arguments import (
    Formatter,
    add_confirm_option,
    add_env_options,
    add_model_options,
    add_output_options,
    positive_int,
)
from qwen_gui_agent.cli.exit_codes import EXIT_CODES, EXIT_USAGE, RUN_EXIT_HELP
from qwen_gui_agent.model.defaults import DEFAULT_MODEL, SMALL_MODEL, TINY_MODEL

EPILOG = f"""\
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

{RUN_EXIT_HELP}"""


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "run", help="let the model do a task", formatter_class=Formatter,
        description="Run the agent on TASK: observe, ask the model, act, until it finishes.",
        epilog=EPILOG,
    )
    parser.add_argument("task", metavar="TASK", help="what to do, in plain words")
    add_env_options(parser)
    add_model_options(parser)
    group = parser.add_argument_group("run")
    group.add_argument("--max-steps", type=positive_int, default=30, metavar="N",
                       help="give up after this many steps")
    add_confirm_option(group)
    group.add_argument("--dry-run", action="store_true",
                       help="decide and record each step but perform no action")
    add_output_options(
        group, record_default="runs", record_help="write the trajectory to a new folder under DIR",
        secret_help="a value the model refers to as {NAME}",
        json_help="print one JSON object per step and a summary, instead of the live view",
    )
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    from qwen_gui_agent.agent.guard import Guard
    from qwen_gui_agent.agent.loop import Agent, RunResult
    from qwen_gui_agent.cli.common import (
        describe_exception,
        env_options_from,
        error,
        interrupt_on_sigterm,
        secrets_from,
        terminal_ask,
        writable_folder,
    )
    from qwen_gui_agent.cli.live import JsonView, LiveView
    from qwen_gui_agent.envs import open_env
    from qwen_gui_agent.errors import UsageError
    from qwen_gui_agent.model.factory import build_policy

    try:
        secrets = secrets_from(args.secret)
        options = env_options_from(args, args.env)
        if args.env == "desktop" and not (args.display or args.virtual_display or os.environ.get("DISPLAY")):
            raise UsageError("no X display: pass --display :N (or set $DISPLAY), "
                              "or --virtual-display 1280x800 for a private headless one")
        if not args.no_record:
            writable_folder(args.record)
    except UsageError as exc:
        error(str(exc))
        return EXIT_USAGE
    view = JsonView(redact_data=secrets.redact_data) if args.json else LiveView(redact=secrets.redact)
    guard = Guard(args.confirm, ask=terminal_ask(secrets.redact) if args.confirm != "never" else None)
    interrupt_on_sigterm()
    result = None
    try:
        policy = build_policy(model=args.model, endpoint=args.endpoint, family=args.family,
                              min_pixels=args.min_pixels, max_pixels=args.max_pixels,
                              timeout=args.model_timeout)
        with open_env(args.env, virtual_display=args.virtual_display, **options) as env:
            agent = Agent(
                policy, env, max_steps=args.max_steps,
                record_dir=None if args.no_record else args.record,
                guard=guard, secrets=secrets, settle=args.settle, dry_run=args.dry_run,
                on_step=view.step,
                header={"cli": {"model": args.model, "endpoint": args.endpoint,
                                "virtual_display": args.virtual_display}},
            )
            view.start(args.task, _details(args, agent))
            result = agent.run(args.task)
            view.summary(result)
    except KeyboardInterrupt:
        if result is not None:  # a second Ctrl-C while closing: the run's outcome stands
            return EXIT_CODES[result.status]
        raise
    except Exception as exc:  # env or model could not start: a clear line, not a traceback
        if result is not None:  # the env failed to close after the run ended: say so, keep the code
            error(secrets.redact(describe_exception(exc)))
            return EXIT_CODES[result.status]
        message = secrets.redact(describe_exception(exc))
        if isinstance(exc, UsageError):  # an option only the env itself could check
            error(message)
            return EXIT_USAGE
        error(message)
        if args.json:
            view.summary(RunResult("error", None, [], None, message, task=args.task))
        return EXIT_CODES["error"]
    return EXIT_CODES[result.status]


def _details(args: argparse.Namespace, agent: Any) -> list[str]:
    policy = agent.policy
    model = f"model {getattr(policy, 'model', args.model)} at {args.endpoint}" if args.endpoint \
        else f"model {getattr(policy, 'name', args.model)}"
    details = [f"env {args.env}, {model}, up to {args.max_steps} steps"]
    if not args.no_record:
        details.append(f"recording under {args.record}/")
    if args.dry_run:
        details.append("dry run: actions are decided and recorded, not performed")
    if args.confirm != "never":
        details.append(f"confirm: {args.confirm}")
    return details
