"""The environment flags that say what the model may open: --app / --installed-apps (desktop),
--allow-scheme / --allow-domain (browser); and sizes from outside refused before anything starts."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from qwen_gui_agent.cli.common import env_options_from
from qwen_gui_agent.cli.parser import build_parser
from qwen_gui_agent.errors import UsageError

sys.path.insert(0, str(Path(__file__).parent))  # tests/ is no package: reach the shared helpers
from cli_helpers import EXIT, qwen_agent  # noqa: E402


def options(*flags: str, env: str) -> dict[str, object]:
    return env_options_from(build_parser().parse_args(["run", "task", "--env", env, *flags]), env)


def test_apps_are_the_users_command_lines() -> None:
    got = options("--app", "Text Editor=sh -c 'echo a; echo b'", "--app", "Shell=sh", "--installed-apps",
                  env="desktop")
    assert got == {"apps": {"Text Editor": ["sh", "-c", "echo a; echo b"], "Shell": ["sh"]},
                   "installed_apps": True}
    for flags, message in [
        (["--app", "sh"], "--app takes LABEL=COMMAND"),
        (["--app", "A=sh", "--app", "A=sh -l"], "--app 'A' is given twice"),
        (["--app", "Ghost=no-such-program-qga"], "not an installed program"),
        (["--allow-domain", "example.com"], "--allow-domain does not apply to the desktop env"),
    ]:
        with pytest.raises(UsageError, match=message):
            options(*flags, env="desktop")


def test_browser_policy_flags() -> None:
    got = options("--url", "http://localhost:8000/", "--allow-domain", "localhost:8000",
                  "--allow-domain", "*.example.com", "--allow-scheme", "file", env="browser")
    assert got == {"headless": True, "url": "http://localhost:8000/", "allow_schemes": ["file"],
                   "allowed_domains": ["localhost:8000", "*.example.com"]}
    for flags, message in [
        (["--allow-domain", "*"], "may only start a pattern"),
        (["--url", "https://evil.example.org/", "--allow-domain", "localhost"],
         "start page cannot be opened: refused to open https://evil.example.org/: evil.example.org is not"),
        (["--url", "file:///etc/passwd"], "the file: scheme is not allowed"),
        (["--app", "A=sh"], "--app does not apply to the browser env"),
    ]:
        with pytest.raises(UsageError, match=message):
            options(*flags, env="browser")


def test_impossible_sizes_are_usage_errors(tmp_path: Path) -> None:
    for flag in ("--viewport", "--virtual-display"):
        done = qwen_agent("run", "task", "--env", "browser", flag, "1000000x1000000", cwd=tmp_path, timeout=60)
        assert done.returncode == EXIT["usage"], done.stderr
        assert "1000000x1000000 is too large" in done.stderr
    done = qwen_agent("run", "task", "--env", "browser", "--url", "chrome://settings", cwd=tmp_path, timeout=60)
    assert done.returncode == EXIT["usage"] and "the chrome: scheme is not allowed" in done.stderr
