"""BrowserEnv start-up, crashes and clean-up, with real Chromium processes."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fixtures.ports import closed_port

from qwen_gui_agent.actions.models import Click, Navigate, SystemButton
from qwen_gui_agent.envs import EnvError, make_env
from qwen_gui_agent.envs.browser.env import BrowserEnv, normalize_url
from qwen_gui_agent.envs.browser.launch import (
    CHROMIUM_ENV_VAR,
    find_chromium,
    process_alive,
    profile_processes,
)
from tests.fixtures.browser import PageServer


def wait_until_gone(pids: list[int], timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(process_alive(pid) for pid in pids):
        time.sleep(0.05)
    return [pid for pid in pids if process_alive(pid)]


def test_close_leaves_no_process_and_keeps_downloads(page_server: Any, tmp_path: Path) -> None:
    with make_env("browser", url=page_server.url("links.html"), downloads_dir=tmp_path / "dl") as env:
        assert isinstance(env, BrowserEnv)
        profile = env._profile
        pid = env.browser_pid
        assert pid is not None and process_alive(pid)
        children = profile_processes(profile)
        assert pid in children and len(children) >= 2  # the browser and its helpers
        env.execute(Navigate(url=page_server.url("download/data.csv")))
    assert wait_until_gone(children) == []
    assert not profile.exists()
    assert [p.name for p in (tmp_path / "dl").iterdir()] == ["data.csv"]
    with pytest.raises(EnvError, match="closed; create a new one"):
        env.observe()
    env.close()  # idempotent


def test_killed_browser_is_an_env_error(browser_env: Any) -> None:
    env = browser_env(url="probe.html")
    pid = env.browser_pid
    os.kill(pid, signal.SIGKILL)
    assert wait_until_gone([pid]) == []
    with pytest.raises(EnvError, match=rf"browser \(pid {pid}\) has exited or crashed.*create a new one"):
        env.observe()
    with pytest.raises(EnvError, match="create a new one"):
        env.execute(Click(x=10, y=10))
    with pytest.raises(EnvError):
        env.page  # noqa: B018 (the property checks)
    profile = env._profile
    env.close()
    assert profile_processes(profile) == [] and not profile.exists()


def test_crashed_page_is_an_env_error(browser_env: Any) -> None:
    env = browser_env(url="probe.html")
    with pytest.raises(Exception):  # noqa: B017 (Playwright's own error as the tab dies)
        env.page.goto("chrome://crash")
    with pytest.raises(EnvError, match=r"the page .* crashed.*create a new one"):
        env.observe()
    with pytest.raises(EnvError, match="crashed"):
        env.execute(Click(x=10, y=10))
    pid = env.browser_pid
    env.close()
    assert wait_until_gone([pid]) == []


def test_bad_start_url_fails_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    import tempfile

    port = closed_port()
    made: list[Path] = []
    real_mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args: Any, **kwargs: Any) -> str:
        made.append(Path(real_mkdtemp(*args, **kwargs)))
        return str(made[-1])

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    with pytest.raises(EnvError, match="start page did not open: could not open .*ERR_CONNECTION_REFUSED"):
        BrowserEnv(url=f"http://127.0.0.1:{port}/")
    (profile,) = made
    assert profile_processes(profile) == [] and not profile.exists()


def test_missing_executable_is_an_env_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(EnvError, match="executable_path names .*not an executable"):
        BrowserEnv(executable_path=tmp_path / "no-chromium")
    monkeypatch.setenv(CHROMIUM_ENV_VAR, str(tmp_path / "nothing"))
    with pytest.raises(EnvError, match=rf"\${CHROMIUM_ENV_VAR} names"):
        find_chromium()
    broken = tmp_path / "broken-chromium"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    with pytest.raises(EnvError, match="could not start Chromium .*broken-chromium"):
        BrowserEnv(executable_path=broken, timeout=20)


def test_system_chromium_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(CHROMIUM_ENV_VAR, raising=False)
    found = find_chromium()
    assert found is not None and os.access(found, os.X_OK)
    monkeypatch.setenv(CHROMIUM_ENV_VAR, sys.executable)
    assert find_chromium() == sys.executable
    assert find_chromium("/bin/sh") == "/bin/sh"  # the argument beats the variable


@pytest.mark.parametrize(("given", "expected"), [
    ("example.com", "https://example.com"),
    ("example.com/a?b=c", "https://example.com/a?b=c"),
    ("  https://example.com/x  ", "https://example.com/x"),
    ("http://example.com", "http://example.com"),
    ("//cdn.example.com/x.js", "https://cdn.example.com/x.js"),
    ("localhost:8000/app", "http://localhost:8000/app"),
    ("localhost", "http://localhost"),
    ("127.0.0.1:5000", "http://127.0.0.1:5000"),
    ("192.168.1.5/admin", "http://192.168.1.5/admin"),
    ("about:blank", "about:blank"),
    ("file:///tmp/a.html", "file:///tmp/a.html"),
    ("data:text/html,hi", "data:text/html,hi"),
    ("mail.example.com:8443/x", "https://mail.example.com:8443/x"),
])
def test_normalize_url(given: str, expected: str) -> None:
    assert normalize_url(given) == expected


def test_bad_options_are_value_errors() -> None:
    with pytest.raises(ValueError, match="viewport"):
        BrowserEnv(viewport=(0, 600))
    with pytest.raises(ValueError, match="device_scale_factor"):
        BrowserEnv(device_scale_factor=0)


def test_importing_the_env_does_not_import_playwright() -> None:
    code = ("import sys, qwen_gui_agent.envs.browser.env, qwen_gui_agent.envs.browser.launch; "
            "print('playwright' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_headed_browser_on_a_real_display(display_1366x768: Any, page_server: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", display_1366x768.display)
    with BrowserEnv(url=page_server.url("probe.html"), headless=False, viewport=(800, 600)) as env:
        args = Path(f"/proc/{env.browser_pid}/cmdline").read_bytes().split(b"\0")
        assert b"--headless" not in args
        assert env.observe().image.size == (800, 600)
        env.execute(Click(x=250, y=300))
        (click,) = [e for e in env.page.evaluate("window.__events") if e["type"] == "click"]
        assert (click["x"], click["y"]) == (250, 300)


def test_headed_browser_without_a_display_is_an_env_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(EnvError, match="headed browser needs a display"):
        BrowserEnv(headless=False, timeout=30)


def test_a_page_that_never_finishes_loading_is_usable(browser_env: Any, tmp_path: Path) -> None:
    """An image that never arrives keeps `load` from firing: navigate and back report it, not fail."""
    with socket.socket() as silent, PageServer(tmp_path) as server:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # connections are accepted by the kernel and never answered
        port = silent.getsockname()[1]
        (tmp_path / "hang.html").write_text(
            f"<title>Hang</title><img src='http://127.0.0.1:{port}/never.png'>")
        (tmp_path / "next.html").write_text("<title>Next</title>")
        env = browser_env(url=None, timeout=2)
        assert env.execute(Navigate(url=server.url("hang.html"))).info["loaded"] is False
        env.execute(Navigate(url=server.url("next.html")))
        back = env.execute(SystemButton(button="back"))
        assert back.info["url"] == server.url("hang.html") and back.info["loaded"] is False
        assert env.observe().title == "Hang"


def test_a_screenshot_timeout_is_not_retried(browser_env: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """A page whose script never yields times each screenshot out; one timeout is enough to know."""
    env = browser_env(url=None, timeout=1)
    page = env.page
    page.set_content("<script>setTimeout(() => { for (;;) {} }, 100)</script>")
    page.wait_for_timeout(300)
    calls = []
    screenshot = page.screenshot
    monkeypatch.setattr(page, "screenshot", lambda **kw: calls.append(kw) or screenshot(**kw))
    with pytest.raises(EnvError, match="Timeout"):
        env.observe()
    assert len(calls) == 1


def test_input_to_a_page_stuck_in_a_script_cannot_block_forever(browser_env: Any) -> None:
    """Mouse events wait for the renderer and have no timeout of their own: the watchdog
    stops the browser and the env says why."""
    env = browser_env(url=None, timeout=1)
    env.page.set_content("<script>setTimeout(() => { for (;;) {} }, 100)</script>")
    env.page.wait_for_timeout(300)
    pid = env.browser_pid
    with pytest.raises(EnvError, match="click action got no answer for 3 s"):
        env.execute(Click(x=5, y=5))
    assert wait_until_gone([pid]) == []
