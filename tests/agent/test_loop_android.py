"""The loop on Android: the real adb server, the device simulator, the tiny model's mobile_use calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from qwen_gui_agent import Agent
from qwen_gui_agent.actions.models import Click, SystemButton, Terminate, TypeText
from qwen_gui_agent.envs.android.env import AndroidEnv
from qwen_gui_agent.trajectories import load_trajectory


def test_a_scripted_run_taps_types_and_goes_back_on_a_phone(
        adb_server: Any, make_adb_simulator: Callable[..., Any], scripted_policy: Any,
        tmp_path: Path) -> None:
    sim = make_adb_simulator(width=540, height=1200)
    left, top, right, bottom = sim.layout()["B"]
    button = ((left + right) // 2, (top + bottom) // 2)
    plan = [Click(x=button[0], y=button[1]), TypeText(text="hello phone"),
            SystemButton(button="back"), Terminate(status="success")]
    with AndroidEnv(sim.serial, adb_port=adb_server.port) as env:
        policy = scripted_policy(plan, screen=(540, 1200), env="android")
        result = Agent(policy, env, record_dir=tmp_path).run("Press B, type hello phone, go back")

    assert result.status == "success"
    assert sim.screen.pressed == {"B": 1}  # the tap landed on the button, and only there
    assert sim.screen.text == "hello phone"
    assert "input keyevent KEYCODE_BACK" in sim.commands
    trajectory = load_trajectory(result.trajectory_path)
    assert trajectory.header.tool_name == "mobile_use" and trajectory.header.env == "android"
    assert [s.actions[0].type for s in trajectory.steps] == ["click", "type", "system_button",
                                                            "terminate"]
    assert '"mobile_use"' in str(trajectory.steps[0].prompt)  # the phone's tool was offered
