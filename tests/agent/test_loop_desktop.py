"""The whole loop on a real X display (Xvfb) with a real Tk window and the tiny model."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from qwen_gui_agent import Agent
from qwen_gui_agent.actions.models import Click, Key, Terminate, TypeText
from qwen_gui_agent.envs import make_env
from qwen_gui_agent.trajectories import load_trajectory


def test_a_scripted_run_types_into_a_desktop_app(
        display_1366x768: Any, tk_probe_app: Callable[[Any], Any], scripted_policy: Any,
        tmp_path: Path) -> None:
    probe = tk_probe_app(display_1366x768)
    x, y = probe.center("entry")
    text = "Grüße, Ada"
    plan = [Click(x=x, y=y), TypeText(text=text), Key(keys=["ctrl", "a"]), Terminate(status="success")]
    with make_env("desktop", display=display_1366x768.display) as env:
        policy = scripted_policy(plan, screen=(1366, 768), env="desktop")
        result = Agent(policy, env, record_dir=tmp_path).run("Type a greeting into the text field")

    assert result.status == "success"
    state = probe.wait_for(lambda s: s["entry"] == text, "the typed text")
    assert state["focus"].endswith("entry")  # the click landed on the entry, not the canvas
    keys = [e for e in probe.events("key", state) if "ctrl" in e["modifiers"]]
    assert keys and keys[-1]["keysym"].lower() == "a"
    trajectory = load_trajectory(result.trajectory_path)
    assert trajectory.header.env == "desktop" and trajectory.status == "success"
    assert [s.actions[0].type for s in trajectory.steps] == ["click", "type", "key", "terminate"]
    assert [s.executed for s in trajectory.steps] == [True, True, True, False]
    assert trajectory.steps[0].observation.size == (1366, 768)
