"""The bodies of the ``qwen-agent`` subcommands (imported only when one runs).

Each function takes the parsed arguments and returns the exit status; the
work itself lives in the library (Agent, replay, export, report), so what
the CLI does a script can do too.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from typing import TYPE_CHECKING, Any, Callable

from qwen_gui_agent.agent.cli import EXIT_CODES, EXIT_MISMATCH, EXIT_USAGE

if TYPE_CHECKING:
    from qwen_gui_agent.actions.models import Action
    from qwen_gui_agent.agent.secrets import Secrets
    from qwen_gui_agent.model.policy import Decision


def _error(message: str) -> None:
    print(f"qwen-agent: error: {message}", file=sys.stderr, flush=True)


def _describe_exception(exc: BaseException) -> str:
    """Our own typed errors (and value / OS errors) read well; anything else is named by its type."""
    text = str(exc).strip()
    plain = type(exc).__module__.startswith("qwen_gui_agent.") or isinstance(exc, (ValueError, OSError))
    return text if plain and text else f"{type(exc).__name__}: {text}"


def terminal_ask(redact: Callable[[str], str]) -> Callable[[Action, Decision | None], bool]:
    """The guard's ``ask``: a y/N question on the terminal; without a terminal, decline."""
    from qwen_gui_agent.agent.live import describe_action

    def ask(action: Action, decision: Decision | None) -> bool:
        what = redact(describe_action(action))
        if not sys.stdin.isatty():
            _error(f"not performing {what}: --confirm needs an interactive terminal to ask on")
            return False
        if decision is not None and decision.thought:
            print(f"  thought: {redact(decision.thought)}", file=sys.stderr)
        print(f"  perform {what}? [y/N] ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline()
        return answer.strip().lower() in ("y", "yes")

    return ask


def _secrets(pairs: list[str]) -> Secrets:
    from qwen_gui_agent.agent.secrets import Secrets

    return Secrets.from_env().merged(Secrets.from_pairs(pairs))


def _interrupt_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C, so a killed run (``timeout``, a supervisor) still finalises."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def _env_options(args: argparse.Namespace, kind: str, **defaults: Any) -> dict[str, Any]:
    """The env's options from the shared environment flags (``defaults`` fill the url and
    viewport flags not given); ValueError on a flag that does not fit the env."""
    from qwen_gui_agent.agent.factory import env_options

    if args.virtual_display and kind != "desktop":
        raise ValueError("--virtual-display applies to the desktop env only")
    return env_options(kind, url=args.url or defaults.get("url"), headed=args.headed,
                       viewport=args.viewport or defaults.get("viewport"), serial=args.serial,
                       adb_port=args.adb_port, display=args.display)


def run_command(args: argparse.Namespace) -> int:
    from qwen_gui_agent.agent.factory import build_policy, open_env
    from qwen_gui_agent.agent.guard import Guard
    from qwen_gui_agent.agent.live import JsonView, LiveView
    from qwen_gui_agent.agent.loop import Agent, RunResult
    from qwen_gui_agent.agent.secrets import SecretError

    try:
        secrets = _secrets(args.secret)
        options = _env_options(args, args.env)
        if args.env == "desktop" and not (args.display or args.virtual_display or os.environ.get("DISPLAY")):
            raise ValueError("no X display: pass --display :N (or set $DISPLAY), "
                             "or --virtual-display 1280x800 for a private headless one")
    except (SecretError, ValueError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    view = JsonView(redact_data=secrets.redact_data) if args.json else LiveView(redact=secrets.redact)
    guard = Guard(args.confirm, ask=terminal_ask(secrets.redact) if args.confirm != "never" else None)
    _interrupt_on_sigterm()
    try:
        with open_env(args.env, virtual_display=args.virtual_display, **options) as env:
            policy = build_policy(model=args.model, endpoint=args.endpoint,
                                  min_pixels=args.min_pixels, max_pixels=args.max_pixels)
            agent = Agent(
                policy, env, max_steps=args.max_steps,
                record_dir=None if args.no_record else args.record,
                guard=guard, secrets=secrets, settle=args.settle, dry_run=args.dry_run,
                on_step=view.step,
                header={"cli": {"model": args.model, "endpoint": args.endpoint,
                                "virtual_display": args.virtual_display}},
            )
            view.start(args.task, _run_details(args, agent))
            result = agent.run(args.task)
            view.summary(result)
    except KeyboardInterrupt:
        raise
    except Exception as exc:  # env or model could not start: a clear line, not a traceback
        message = secrets.redact(_describe_exception(exc))
        _error(message)
        if args.json:
            view.summary(RunResult("error", None, [], None, message, task=args.task))
        return EXIT_CODES["error"]
    return EXIT_CODES[result.status]


def _run_details(args: argparse.Namespace, agent: Any) -> list[str]:
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


REPLAY_EXIT_CODES = {
    "completed": EXIT_CODES["success"], "success": EXIT_CODES["success"],
    "failure": EXIT_CODES["failure"], "mismatch": EXIT_MISMATCH, "error": EXIT_CODES["error"],
}
"""Exit status per replay outcome (:class:`~qwen_gui_agent.trajectories.replay.ReplayResult`)."""


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


def replay_command(args: argparse.Namespace) -> int:
    from qwen_gui_agent.agent.factory import SecretTypingEnv, build_policy, open_env
    from qwen_gui_agent.agent.secrets import SecretError
    from qwen_gui_agent.trajectories import TrajectoryError, load_trajectory, replay

    try:
        secrets = _secrets(args.secret)
        trajectory = load_trajectory(args.run_dir)
        missing = [name for name in _typed_secrets(trajectory) if name not in secrets.names]
        if missing:
            raise ValueError(
                f"the run typed the secret(s) {', '.join(missing)}: give their values with "
                + " ".join(f"--secret {n}=VALUE" for n in missing)
                + f" (or QWEN_AGENT_SECRET_{missing[0]}=VALUE in the environment)")
        kind = args.env or trajectory.header.env
        recorded = recorded_browser_options(trajectory) if kind == "browser" else {}
        options = _env_options(args, kind, **recorded)
    except (SecretError, TrajectoryError, ValueError, OSError) as exc:
        _error(str(exc))
        return EXIT_USAGE
    _interrupt_on_sigterm()
    try:
        with open_env(kind, virtual_display=args.virtual_display, **options) as live:
            env = SecretTypingEnv(live, secrets) if secrets else live
            policy = None
            if args.on_mismatch == "model":
                policy = build_policy(model=args.model, endpoint=args.endpoint,
                                      min_pixels=args.min_pixels, max_pixels=args.max_pixels)
            result = replay(trajectory.path, env, on_mismatch=args.on_mismatch, policy=policy,
                            speed=args.speed, record_dir=args.record, record=not args.no_record,
                            redact=secrets.redact if secrets else None)
    except KeyboardInterrupt:
        raise
    except Exception as exc:
        _error(secrets.redact(_describe_exception(exc)))
        return EXIT_CODES["error"]
    summary = {
        "status": result.status, "replayed": result.replayed, "model_steps": result.model_steps,
        "mismatches": [{"step": m.index, "similarity": round(m.similarity, 4)} for m in result.mismatches],
        "answer": result.answer, "message": result.message,
        "trajectory": None if result.trajectory_path is None else str(result.trajectory_path),
    }
    if args.json:
        print(json.dumps(secrets.redact_data(summary), ensure_ascii=False))
    else:
        print(f"replay {result.status}: {result.replayed} step(s) replayed, "
              f"{result.model_steps} by the model, {len(result.mismatches)} mismatch(es)")
        for line in (result.message, result.answer and f"answer: {result.answer}"):
            if line:
                print(secrets.redact(line))
        if result.trajectory_path:
            print(f"trajectory: {result.trajectory_path}")
    return REPLAY_EXIT_CODES.get(result.status, EXIT_CODES["failure"])


def export_command(args: argparse.Namespace) -> int:
    from qwen_gui_agent.trajectories import TrajectoryError, export
    from qwen_gui_agent.trajectories.export import ExportError

    try:
        summary = export(args.runs, args.out, format=args.format, status=args.status,
                         min_steps=args.min_steps, max_steps=args.max_steps)
    except (ExportError, TrajectoryError) as exc:  # the runs or filters given are unusable
        _error(str(exc))
        return EXIT_USAGE
    except OSError as exc:
        _error(str(exc))
        return EXIT_CODES["error"]
    skipped = ", ".join(f"{n} {why}" for why, n in sorted(summary.skipped_steps.items()))
    print(f"exported {summary.samples} sample(s) with {summary.images} image(s) from "
          f"{summary.runs} run(s) ({summary.runs_filtered} filtered out) as {summary.format}")
    if skipped:
        print(f"steps without a sample: {skipped}")
    print(f"data: {summary.data_file}")
    return 0


def report_command(args: argparse.Namespace) -> int:
    from qwen_gui_agent.trajectories import TrajectoryError, write_report

    try:
        path = write_report(args.run_dir, args.out, max_width=args.max_width, quality=args.quality)
    except TrajectoryError as exc:
        _error(str(exc))
        return EXIT_USAGE
    except OSError as exc:
        _error(str(exc))
        return EXIT_CODES["error"]
    print(f"report: {path}")
    return 0
