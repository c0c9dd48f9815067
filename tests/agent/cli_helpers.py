"""Running ``qwen-agent`` as a real subprocess, for the CLI tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Mapping

EXIT = {"success": 0, "failure": 1, "usage": 2, "max_steps": 3, "stuck": 4, "error": 5,
        "mismatch": 6, "interrupted": 130}


def cli_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The child's environment: offline, no display of ours, no stray secrets."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("QWEN_AGENT_SECRET_") and k != "DISPLAY"}
    env.update(HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", PYTHONUNBUFFERED="1", COLUMNS="120")
    env.update(extra or {})
    return env


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "qwen_gui_agent", *args]


def qwen_agent(*args: str, cwd: Path, env: Mapping[str, str] | None = None,
               timeout: float = 240, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m qwen_gui_agent ARGS`` to completion."""
    return subprocess.run(command(*args), cwd=cwd, env=cli_env(env), capture_output=True,
                          text=True, timeout=timeout, input=stdin if stdin is not None else "")


def json_lines(stdout: str) -> list[dict[str, Any]]:
    """Every stdout line parsed as JSON (so a stray non-JSON line fails the test)."""
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]
