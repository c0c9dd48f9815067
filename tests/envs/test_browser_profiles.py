"""A browser profile (cookies, history, saved logins) never outlives its process for long.

``close()`` removes it; a process killed outright cannot, so the next env that
starts removes every profile whose owner is gone. Checked with a real child
process that opens a BrowserEnv and is SIGKILLed.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Any

import pytest

from qwen_gui_agent.envs.browser.env import BrowserEnv
from qwen_gui_agent.envs.browser.launch import (
    new_profile,
    profile_processes,
    profiles_root,
    remove_stale_profiles,
)
from qwen_gui_agent.errors import EnvError

CHILD = """
import time
from qwen_gui_agent.envs.browser.env import BrowserEnv

env = BrowserEnv(url={url!r})
env.context.add_cookies([{{"name": "session", "value": "s3cret", "url": {url!r}}}])
env.page.evaluate("localStorage.setItem('token', 's3cret')")
print(env._profile, flush=True)
time.sleep(300)
"""


def test_a_killed_runs_profile_is_removed_at_the_next_start(page_server: Any) -> None:
    code = textwrap.dedent(CHILD.format(url=page_server.url("static.html")))
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        profile = Path(child.stdout.readline().strip())  # type: ignore[union-attr]
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait()
        child.stdout.close()  # type: ignore[union-attr]
    assert profile.parent == profiles_root() and profile.name.startswith(f"p{child.pid}-")
    assert profile.is_dir()  # a SIGKILL runs no clean-up: this is what the issue found in /tmp
    with BrowserEnv() as env:
        assert not profile.exists() and profile_processes(profile) == []
        own = env._profile
        assert own.is_dir()  # a live owner's profile is never touched
        assert own not in remove_stale_profiles()
    assert not own.exists()


def test_stale_means_the_owner_is_gone_even_when_its_pid_is_reused() -> None:
    root = profiles_root()
    mine = new_profile()
    dead = Path(tempfile.mkdtemp(prefix=f"p{_ended_pid()}-1-", dir=root))
    reused = Path(tempfile.mkdtemp(prefix=f"p{os.getpid()}-1-", dir=root))  # this PID, another start
    other = Path(tempfile.mkdtemp(prefix="not-a-profile-", dir=root))
    try:
        removed = remove_stale_profiles()
        assert dead in removed and reused in removed and not dead.exists() and not reused.exists()
        assert mine.is_dir() and other.is_dir()
    finally:
        for path in (mine, other):
            path.rmdir()


def _ended_pid() -> int:
    process = subprocess.Popen(["true"])
    process.wait()
    return process.pid


def test_the_profiles_folder_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    root = profiles_root()
    assert root.parent == tmp_path and (root.stat().st_mode & 0o777) == 0o700
    root.chmod(0o755)
    assert (profiles_root().stat().st_mode & 0o777) == 0o700
    root.rmdir()
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root.symlink_to(elsewhere)  # planted by someone else in a shared temp dir
    with pytest.raises(EnvError, match="is not a folder of this user's"):
        profiles_root()
