"""DesktopEnv failures and VirtualDisplay lifecycle: each error is typed and says what to do."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from fixtures.display import ProbeApp

from qwen_gui_agent.actions.models import Click, Key, OpenApp, TypeText
from qwen_gui_agent.envs.desktop.env import DesktopEnv
from qwen_gui_agent.envs.desktop.xvfb import VirtualDisplay
from qwen_gui_agent.errors import ActionError, EnvError, UsageError


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def fake_xdotool(directory: Path, script: str) -> str:
    """A PATH holding only an ``xdotool`` that behaves as ``script`` says (a failure the real one won't stage)."""
    path = directory / "xdotool"
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return str(directory)


def test_virtual_display_lifecycle() -> None:
    with VirtualDisplay(320, 240, depth=16) as first, VirtualDisplay(640, 480) as second:
        assert first.display != second.display and first.running
        assert first.env["DISPLAY"] == first.display and os.environ.get("DISPLAY") != first.display
        assert first.socket_path.exists()
        size = subprocess.run(["xdpyinfo"], env=first.env, capture_output=True, text=True, check=True).stdout
        assert "320x240 pixels" in size and "depth of root window:    16 planes" in size
        pid = first.pid
    assert not first.running and not process_exists(pid)
    assert not first.socket_path.exists()
    first.close()  # idempotent


def test_virtual_display_rejects_bad_sizes() -> None:
    with pytest.raises(UsageError, match="must be positive"):
        VirtualDisplay(0, 100)
    with pytest.raises(UsageError, match="1000000x1000000 is too large"):
        VirtualDisplay(10**6, 10**6)
    with pytest.raises(ValueError, match="depth"):
        VirtualDisplay(100, 100, depth=12)


def test_closed_env_raises_env_error(display_1366x768: VirtualDisplay) -> None:
    env = DesktopEnv(display=display_1366x768.display)
    with env:
        env.observe()
    with pytest.raises(EnvError, match="closed; create a new one"):
        env.observe()
    with pytest.raises(EnvError, match="closed"):
        env.execute(Click(x=1, y=1))
    env.close()


def test_lost_display_raises_env_error_naming_the_fix() -> None:
    display = VirtualDisplay(400, 300)
    first_uses = (lambda env: env.observe(), lambda env: env.execute(Click(x=5, y=5)),
                  lambda env: env.execute(TypeText(text="é")), lambda env: env.execute(Key(keys="ctrl+c")))
    envs = [DesktopEnv(display=display.display) for _ in first_uses]
    unaware = DesktopEnv(display=display.display)
    unaware.execute(TypeText(text="ß"))  # binds a keycode that close() will try to give back
    display.close()
    unaware.close()  # must neither hang nor raise on the dead display
    for env, first_use in zip(envs, first_uses):  # each backend path detects the loss on its own
        with pytest.raises(EnvError, match=rf"display {display.display} is gone .*create a new DesktopEnv"):
            first_use(env)
        with pytest.raises(EnvError, match="is gone"):
            env.execute(Click(x=1, y=1))
    for env in envs:
        env.close()


def test_no_display_is_an_env_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DISPLAY", raising=False)
    with pytest.raises(EnvError, match="no X display: set DISPLAY"):
        DesktopEnv()
    with pytest.raises(EnvError, match="cannot open X display :987"):
        DesktopEnv(display=":987")


def test_missing_xdotool_is_reported(display_1366x768: VirtualDisplay, tmp_path: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with DesktopEnv(display=display_1366x768.display, typing="xdotool") as env:
        with pytest.raises(ActionError, match="xdotool is not on PATH; install xdotool"):
            env.execute(TypeText(text="héllo"))
    with DesktopEnv(display=display_1366x768.display) as auto:  # falls back to pyautogui
        assert auto.keyboard == "pyautogui"
        with pytest.raises(ActionError, match=r"cannot type 'é—' with pyautogui.*install xdotool"):
            auto.execute(TypeText(text="é — e"))


@pytest.mark.parametrize(("script", "message"), [
    ("echo 'Error: something broke' >&2; exit 3", "xdotool type failed with status 3: Error: something broke"),
    ("echo \"(symbol) No such key name 'x'. Ignoring it.\" >&2", "No such key name"),
])
def test_xdotool_failures_are_detected(display_1366x768: VirtualDisplay, tmp_path: Path,
                                       monkeypatch: pytest.MonkeyPatch, script: str, message: str) -> None:
    monkeypatch.setenv("PATH", fake_xdotool(tmp_path, script))
    with DesktopEnv(display=display_1366x768.display) as env:
        assert env.keyboard == "xdotool"
        with pytest.raises(ActionError, match=message.replace("(", r"\(").replace(")", r"\)")):
            env.execute(TypeText(text="abc"))


def test_pyautogui_keyboard_types_ascii_and_refuses_the_rest(
        display_1366x768: VirtualDisplay, tk_probe_app: Callable[[VirtualDisplay], ProbeApp]) -> None:
    probe = tk_probe_app(display_1366x768)
    with DesktopEnv(display=display_1366x768.display, typing="pyautogui") as env:
        x, y = probe.center("entry")
        env.execute(Click(x=x, y=y))
        env.execute(TypeText(text="plain ASCII, 42!"))
        probe.wait_for(lambda s: s["entry"] == "plain ASCII, 42!", "pyautogui typing")
        env.execute(Key(keys="ctrl+a"))
        env.execute(TypeText(text=">"))
        probe.wait_for(lambda s: s["entry"] == ">plain ASCII, 42!", "a pyautogui hotkey")
        with pytest.raises(ActionError, match="cannot type '你' with pyautogui"):
            env.execute(TypeText(text="ok 你"))
        with pytest.raises(ActionError, match="'app_switch' cannot be pressed"):
            env.execute(Key(keys=["app_switch"]))
    assert probe.state()["entry"] == ">plain ASCII, 42!", "a refused text must type nothing"


def test_unmapped_key_is_an_action_error(display_1366x768: VirtualDisplay) -> None:
    with DesktopEnv(display=display_1366x768.display) as env, pytest.raises(ActionError, match="app_switch"):
        env.execute(Key(keys=["app_switch"]))


def test_open_app_starts_an_allowed_program_and_close_stops_it(display_1366x768: VirtualDisplay) -> None:
    sleeper = [sys.executable, "-c", "import time; time.sleep(60)"]
    env = DesktopEnv(display=display_1366x768.display, apps={"Sleeper": sleeper})
    outcome = env.execute(OpenApp(name="sleeper"))
    pid = outcome.info["pid"]
    assert process_exists(pid) and outcome.info["app"] == "Sleeper"
    env.close()
    assert not process_exists(pid)


def test_import_is_light() -> None:
    code = ("import sys, qwen_gui_agent.envs.desktop.env, qwen_gui_agent.envs.desktop.xvfb; "
            "print(sorted(m for m in ('pyautogui', 'mss', 'Xlib', 'PIL') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
