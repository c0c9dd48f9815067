"""Argument types and the option groups several subcommands share."""

from __future__ import annotations

import argparse
import math
import textwrap
from collections.abc import Callable

from qwen_gui_agent.actions.dialects import DEFAULT_FAMILY, FAMILIES
from qwen_gui_agent.actions.observation import ENV_KINDS
from qwen_gui_agent.model.defaults import DEFAULT_MODEL, SMALL_MODEL, TINY_MODEL


def wrap(text: str) -> str:
    """A description as paragraphs of terminal width (the formatter keeps layout as given)."""
    return textwrap.fill(text, width=78)


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the epilog's layout and shows the defaults worth showing."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.default not in (None, False, [], argparse.SUPPRESS) and action.option_strings \
                and "%(default)" not in text:
            text += " (default: %(default)s)"
        return text


def screen_size(text: str) -> tuple[int, int]:
    from qwen_gui_agent.envs.limits import check_screen_size
    from qwen_gui_agent.errors import UsageError

    width, sep, height = text.lower().partition("x")
    if not sep or not width.isdigit() or not height.isdigit() or int(width) < 1 or int(height) < 1:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1280x800, got {text!r}")
    try:
        return check_screen_size(int(width), int(height), "the size")
    except UsageError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def _finite(text: str, accept: Callable[[float], bool], expected: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not (math.isfinite(value) and accept(value)):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}")
    return value


def positive_float(text: str) -> float:
    return _finite(text, lambda value: value > 0, "a positive number of seconds")


def speed(text: str) -> float:
    return _finite(text, lambda value: value >= 0, "a speed factor >= 0")


def add_model_options(parser: argparse.ArgumentParser, description: str | None = None) -> None:
    group = parser.add_argument_group("model", description)
    group.add_argument("--model", metavar="ID_OR_PATH",
                       help="hub id or local checkpoint; with --endpoint, the served model name "
                            f"(default: {DEFAULT_MODEL} with CUDA, {SMALL_MODEL} without; "
                            f"'{TINY_MODEL}': an offline random-weight model that solves nothing)")
    group.add_argument("--endpoint", metavar="URL",
                       help="OpenAI-compatible chat-completions server, e.g. http://localhost:8000/v1")
    group.add_argument("--family", choices=FAMILIES, metavar="FAMILY",
                       help=f"the model family ({', '.join(FAMILIES)}): its output syntax, "
                            "coordinate frame and prompt (default: read from a local checkpoint; "
                            f"{DEFAULT_FAMILY} for an endpoint)")
    group.add_argument("--max-pixels", type=positive_int, metavar="N",
                       help="largest screenshot area fed to the model (lower it on a small GPU)")
    group.add_argument("--min-pixels", type=positive_int, metavar="N",
                       help="smallest screenshot area fed to the model")
    group.add_argument("--model-timeout", type=positive_float, metavar="S",
                       help="with --endpoint: the total seconds one request may take, retries "
                            "included, before the run ends with a clear error (default 120)")


def add_env_options(parser: argparse.ArgumentParser, required: bool = True,
                    settle: bool = True) -> None:
    group = parser.add_argument_group("environment")
    group.add_argument("--env", choices=ENV_KINDS, required=required,
                       help="what the agent drives" if required else
                            "where to replay (default: the recorded env, and for the browser "
                            "its start page and viewport)")
    group.add_argument("--url", help="browser: the page to open first")
    group.add_argument("--headed", action="store_true", help="browser: show the window")
    group.add_argument("--viewport", type=screen_size, metavar="WxH",
                       help="browser: the page's size in CSS pixels (default: 1280x800"
                            + (")" if required else ", or the recorded one)"))
    group.add_argument("--serial", help="android: the adb serial (default: the only device)")
    group.add_argument("--adb-port", type=positive_int, metavar="PORT",
                       help="android: the adb server's port (default: $ANDROID_ADB_SERVER_PORT or 5037)")
    group.add_argument("--allow-scheme", action="append", default=[], metavar="SCHEME",
                       help="browser: let pages of this URL scheme open too, e.g. file (only http, "
                            "https and about:blank open by default); repeatable")
    group.add_argument("--allow-domain", action="append", default=[], metavar="PATTERN",
                       help="browser: open only pages of these sites, e.g. '*.example.com' (the site "
                            "and its subdomains) or localhost:8000; links, redirects and new tabs to "
                            "others are refused; repeatable")
    group.add_argument("--display", help="desktop: the X display, e.g. :0 (default: $DISPLAY)")
    group.add_argument("--virtual-display", type=screen_size, metavar="WxH",
                       help="desktop: start a private Xvfb display of this size for the run")
    group.add_argument("--app", action="append", default=[], metavar="LABEL=COMMAND",
                       help="desktop: an app the model may open by its LABEL, e.g. "
                            "'Text Editor=gedit --new-window' (the model only names it; the command "
                            "is yours); repeatable. Without --app or --installed-apps it opens none")
    group.add_argument("--installed-apps", action="store_true",
                       help="desktop: also let the model open the installed applications by their "
                            "menu name (freedesktop .desktop entries)")
    if settle:
        group.add_argument("--settle", action="store_true",
                           help="wait for the screen to stop changing before each observation")


def add_confirm_option(group: argparse._ActionsContainer) -> None:
    group.add_argument("--confirm", choices=("never", "always", "sensitive"), default="never",
                       help="ask on the terminal before every action (always) or before typing, "
                            "opening apps, finishing and paying/deleting/sending (sensitive)")


def add_output_options(group: argparse._ActionsContainer, *, record_default: str | None,
                       record_help: str, secret_help: str, json_help: str) -> None:
    """``--record``, ``--no-record``, ``--secret`` and ``--json``: shared by ``run`` and
    ``replay`` (both record a trajectory, type secrets and report), each with its own help."""
    group.add_argument("--record", default=record_default, metavar="DIR", help=record_help)
    group.add_argument("--no-record", action="store_true", help="write no trajectory")
    group.add_argument("--secret", action="append", default=[], metavar="NAME=VALUE",
                       help=f"{secret_help}; repeatable (or QWEN_AGENT_SECRET_NAME=VALUE)")
    group.add_argument("--json", action="store_true", help=json_help)
