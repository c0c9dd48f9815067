"""What the subcommands share once their arguments are parsed: messages, secrets, signals."""

from __future__ import annotations

import argparse
import signal
import sys
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import Decision
    from qwen_gui_agent.actions.models import Action
    from qwen_gui_agent.agent.secrets import Secrets


def error(message: str) -> None:
    print(f"qwen-agent: error: {message}", file=sys.stderr, flush=True)


def describe_exception(exc: BaseException) -> str:
    """Our own typed errors (and value / OS errors) read well; anything else is named by its type.

    A model that cannot be found gets the CLI's way out as well as the library's.
    """
    from qwen_gui_agent.errors import ModelNotFound, QwenAgentError

    text = str(exc).strip()
    if isinstance(exc, ModelNotFound):
        return (f"{text}. With the CLI: --model DIR for a checkpoint folder, --endpoint URL "
                "for a served model, or --model tiny to try the whole pipeline offline")
    plain = isinstance(exc, (QwenAgentError, ValueError, OSError))
    return text if plain and text else f"{type(exc).__name__}: {text}"


def writable_folder(path: str) -> None:
    """Create ``path`` (where runs are recorded) now, so a bad one is a usage error up front."""
    from pathlib import Path

    from qwen_gui_agent.errors import UsageError

    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot record runs under {path}: {exc.strerror or exc}; "
                         "pass --record DIR where you can write, or --no-record") from None


def secrets_from(pairs: list[str]) -> Secrets:
    """``--secret NAME=VALUE`` flags on top of ``QWEN_AGENT_SECRET_*`` variables."""
    from qwen_gui_agent.agent.secrets import Secrets

    return Secrets.from_env().merged(Secrets.from_pairs(pairs))


def terminal_ask(redact: Callable[[str], str]) -> Callable[[Action, Decision | None], bool]:
    """The guard's ``ask``: a y/N question on the terminal; without a terminal, decline."""
    from qwen_gui_agent.cli.live import describe_action

    def ask(action: Action, decision: Decision | None) -> bool:
        what = redact(describe_action(action))
        if not sys.stdin.isatty():
            error(f"not performing {what}: --confirm needs an interactive terminal to ask on")
            return False
        if decision is not None and decision.thought:
            print(f"  thought: {redact(decision.thought)}", file=sys.stderr)
        print(f"  perform {what}? [y/N] ", end="", file=sys.stderr, flush=True)
        answer = sys.stdin.readline()
        return answer.strip().lower() in ("y", "yes")

    return ask


def interrupt_on_sigterm() -> None:
    """Treat SIGTERM like Ctrl-C, so a killed run (``timeout``, a supervisor) still finalises."""

    def handler(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, handler)


def env_options_from(args: argparse.Namespace, kind: str, **defaults: Any) -> dict[str, Any]:
    """The env's options from the shared environment flags (``defaults`` fill the url and
    viewport flags not given); UsageError on a flag that does not fit the env."""
    from qwen_gui_agent.cli.options import env_options
    from qwen_gui_agent.errors import UsageError

    if args.virtual_display and kind != "desktop":
        raise UsageError("--virtual-display applies to the desktop env only")
    return env_options(kind, url=args.url or defaults.get("url"), headed=args.headed,
                       viewport=args.viewport or defaults.get("viewport"), serial=args.serial,
                       adb_port=args.adb_port, display=args.display, apps=args.app,
                       installed_apps=args.installed_apps, allow_schemes=args.allow_scheme,
                       allow_domains=args.allow_domain)
