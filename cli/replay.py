"""``qwen-agent replay``: re-execute a recorded run on a live env."""

from __future__ import annotations

import argparse
import json
from typing import Any

from qwen_gui_agent.cli.arguments import (
    Formatter,
    add_confirm_option,
    add_env_options,
    add_model_options,
    add_output_options,
    speed,
    wrap,
)
from qwen_gui_agent.cli.exit_codes import (
    EXIT_CODES,
    EXIT_USAGE,
    REPLAY_EXIT_HELP,
)


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "replay", help="re-execute a recorded run on a live env", formatter_class=Formatter,
        description=wrap("Replay the actions of a recorded run. Before each step the screen is "
                         "compared with the recorded one; --on-mismatch says what happens when "
                         "they differ. The replay records a trajectory of its own."),
        epilog="examples:\n"
               "  qwen-agent replay runs/20250101-120000-abcd --env browser --url http://localhost:8000\n"
               "  qwen-agent replay RUN --env browser --on-mismatch model --endpoint http://localhost:8000/v1\n\n"
               "The env, and a browser's start page and viewport, default to the recorded ones.\n\n"
               + REPLAY_EXIT_HELP,
    )
    parser.add_argument("run_dir", metavar="RUN",
                        help="a run folder (or its trajectory file), or a folder of runs (its latest)")
    add_env_options(parser, required=False, settle=False)
    add_model_options(parser, "used only with --on-mismatch model")
    parser.add_argument("--on-mismatch", choices=("stop", "continue", "model"), default="stop",
                        help="when the screen differs from the recording: stop, go on anyway, "
                             "or let the model decide that step")
    parser.add_argument("--speed", type=speed, default=1.0,
                        help="replay faster (>1) or slower (<1) than recorded; 0: no pauses")
    add_confirm_option(parser)
    add_output_options(
        parser, record_default=None,
        record_help="write the replay's trajectory to a new folder under DIR (default: next to RUN)",
        secret_help="the value of a {NAME} the recorded run typed",
        json_help="print the result as JSON",
    )
    parser.set_defaults(handler=command)


def recorded_browser_options(trajectory: Any) -> dict[str, Any]:
    """The recorded browser run's start page and viewport, the replay's defaults.

    The start page comes from the env options, else the first screen. The viewport
    matters as much: the same page laid out at another size mismatches at step 1.
    """
    options = trajectory.header.env_options
    url = options.get("url")
    if url is None and trajectory.steps:
        url = trajectory.steps[0].observation.url
    viewport = options.get("viewport")
    return {"url": url, "viewport": tuple(viewport) if viewport else None}


def _typed_secrets(trajectory: Any) -> list[str]:
    """The run's secrets whose ``{NAME}`` placeholder a recorded action typed or navigated to."""
    defined = (trajectory.header.model_extra or {}).get("agent", {}).get("secrets", [])
    texts = [getattr(a, "text", None) or getattr(a, "url", None) or ""
             for step in trajectory.steps for a in step.actions]
    return [name for name in defined if any("{" + name + "}" in text for text in texts)]


def command(args: argparse.Namespace) -> int:
    from qwen_gui_agent.agent.guard import Guard
    from qwen_gui_agent.agent.replay import replay, replayable_steps
    from qwen_gui_agent.cli.common import (
        describe_exception,
        env_options_from,
        error,
        interrupt_on_sigterm,
        secrets_from,
        terminal_ask,
    )
    from qwen_gui_agent.envs import open_env
    from qwen_gui_agent.errors import DataError, UsageError
    from qwen_gui_agent.model.factory import build_policy
    from qwen_gui_agent.trajectories import latest_run, load_trajectory

    try:
        secrets = secrets_from(args.secret)
        trajectory = load_trajectory(latest_run(args.run_dir))
        replayable_steps(trajectory)
        missing = [name for name in _typed_secrets(trajectory) if name not in secrets.names]
        if missing:
            raise UsageError(
                f"the run typed the secret(s) {', '.join(missing)}: give their values with "
                + " ".join(f"--secret {n}=VALUE" for n in missing)
                + f" (or QWEN_AGENT_SECRET_{missing[0]}=VALUE in the environment)")
        kind = args.env or trajectory.header.env
        recorded = recorded_browser_options(trajectory) if kind == "browser" else {}
        options = env_options_from(args, kind, **recorded)
    except (UsageError, DataError, OSError) as exc:
        error(str(exc))
        return EXIT_USAGE
    interrupt_on_sigterm()
    try:
        with open_env(kind, virtual_display=args.virtual_display, **options) as env:
            policy = None
            if args.on_mismatch == "model":
                policy = build_policy(model=args.model, endpoint=args.endpoint, family=args.family,
                                      min_pixels=args.min_pixels, max_pixels=args.max_pixels,
                                      timeout=args.model_timeout)
            guard = Guard(args.confirm,
                          ask=terminal_ask(secrets.redact) if args.confirm != "never" else None)
            result = replay(trajectory, env, on_mismatch=args.on_mismatch, policy=policy,
                            speed=args.speed, record_dir=args.record, record=not args.no_record,
                            guard=guard, secrets=secrets)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        error(secrets.redact(describe_exception(exc)))
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_CODES["error"]
    summary = {
        "status": result.status, "replayed": result.replayed, "model_steps": result.model_steps,
        "mismatches": [{"step": m.index, "similarity": None if m.similarity is None
                        else round(m.similarity, 4)} for m in result.mismatches],
        "not_performed": [{"step": n.index, "reason": n.reason} for n in result.not_performed],
        "answer": result.answer, "message": result.message,
        "trajectory": None if result.trajectory_path is None else str(result.trajectory_path),
    }
    if args.json:
        print(json.dumps(secrets.redact_data(summary), ensure_ascii=False))
    else:
        print(f"replay {result.status}: {result.replayed} step(s) replayed, "
              f"{result.model_steps} by the model, {len(result.mismatches)} mismatch(es), "
              f"{len(result.not_performed)} not performed")
        for line in (result.message, result.answer and f"answer: {result.answer}"):
            if line:
                print(secrets.redact(line))
        if result.trajectory_path:
            print(f"trajectory: {result.trajectory_path}")
    return EXIT_CODES[result.status]
