"""Each model family end to end: its tiny model, forced to answer in its own syntax and
coordinate frame, clicks a known point on a real env, and the env says where the click landed.

The landing point is read back from the env itself (the probe page's recorded
``clientX``/``clientY``, the simulator's ``input tap X Y``), never recomputed from
the frame formulas the runtime uses: a wrong frame would pass a recomputation.
Screens are small and the plan short (click, terminate) to keep the tiny models quick.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

import pytest

from qwen_gui_agent import Agent
from qwen_gui_agent.actions.dialects import FAMILIES, get_dialect
from qwen_gui_agent.actions.models import Click, Terminate
from qwen_gui_agent.envs.android.env import AndroidEnv
from qwen_gui_agent.trajectories import load_trajectory

VIEWPORT = (400, 300)
"""CSS pixels: the screenshot is 400x300 at scale 1 and 800x600 at scale 2."""
PHONE = (540, 1200)

THOUGHTS = {
    "qwen2.5-vl": None,  # the real Qwen2.5-VL outputs carry no thought
    "qwen3-vl": 'Thought: The target is on the left.\nAction: "Click the target."',
    "ui-tars": "The target is on the left.",
}
"""Each family's own way of writing its reasoning (the dialect corpus has real examples)."""
SYNTAX = {
    "qwen2.5-vl": r"^<tool_call>\n\{\"name\": \"(computer|mobile)_use\"",
    "qwen3-vl": r"^Thought: .*\nAction: \".*\"\n<tool_call>\n",
    # The box tokens it writes are special: decoding drops them, as on a real deployment.
    "ui-tars": r"^Thought: .*\nAction: click\(start_box='\(\d+,\d+\)'\)$",
}


@pytest.fixture(scope="module")
def probe_page(browser_env_module: Callable[..., Any]) -> Callable[[int], Any]:
    """``probe_page(scale)``: the module's headless Chromium on probe.html at that scale."""
    envs: dict[int, Any] = {}

    def get(scale: int) -> Any:
        if scale not in envs:
            envs[scale] = browser_env_module(url="probe.html", viewport=VIEWPORT,
                                             device_scale_factor=scale)
        env = envs[scale]
        env.page.reload()
        env.page.wait_for_load_state("load")
        return env

    return get


def _run_click(policy: Any, env: Any, record_dir: Path) -> Any:
    result = Agent(policy, env, record_dir=record_dir).run("Click the target")
    assert result.status == "success", result.message
    return result


def _check_recorded(result: Any, family: str) -> None:
    """The model spoke the family's syntax, and the run header says which family it was."""
    assert re.search(SYNTAX[family], result.steps[0].raw, re.DOTALL), result.steps[0].raw
    header = load_trajectory(result.trajectory_path).header
    assert header.family == family
    assert header.image_bounds.factor == get_dialect(family).bounds.factor


@pytest.mark.parametrize("scale", [1, 2])
@pytest.mark.parametrize("family", FAMILIES)
def test_a_click_lands_on_the_page_within_two_pixels(
        family: str, scale: int, probe_page: Callable[[int], Any], scripted_policy: Any,
        tmp_path: Path) -> None:
    env = probe_page(scale)
    box = env.page.locator("#btn").bounding_box()
    # Off-centre, so that a point mapped through the wrong axis or frame misses.
    target = (round((box["x"] + box["width"] * 0.3) * scale),
              round((box["y"] + box["height"] * 0.7) * scale))
    screen = (VIEWPORT[0] * scale, VIEWPORT[1] * scale)
    policy = scripted_policy([Click(x=target[0], y=target[1]), Terminate(status="success")],
                             screen=screen, env="browser", family=family,
                             thoughts=[THOUGHTS[family]] * 2)

    result = _run_click(policy, env, tmp_path)

    clicks = [e for e in env.page.evaluate("window.__events") if e["type"] == "click"]
    assert len(clicks) == 1 and clicks[0]["target"] == "btn"
    landed = (clicks[0]["x"] * scale, clicks[0]["y"] * scale)  # CSS px -> screenshot px
    assert abs(landed[0] - target[0]) <= 2 and abs(landed[1] - target[1]) <= 2, (landed, target)
    _check_recorded(result, family)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_tap_lands_on_the_phone_within_two_pixels(
        family: str, adb_server: Any, make_adb_simulator: Callable[..., Any], scripted_policy: Any,
        tmp_path: Path) -> None:
    sim = make_adb_simulator(width=PHONE[0], height=PHONE[1])
    left, top, right, bottom = sim.layout()["B"]
    target = (left + (right - left) * 2 // 3, top + (bottom - top) // 4)
    policy = scripted_policy([Click(x=target[0], y=target[1]), Terminate(status="success")],
                             screen=PHONE, env="android", family=family,
                             thoughts=[THOUGHTS[family]] * 2)
    with AndroidEnv(sim.serial, adb_port=adb_server.port) as env:
        result = _run_click(policy, env, tmp_path)

    (tap,) = [c for c in sim.commands if c.startswith("input tap ")]
    x, y = (float(v) for v in tap.split()[2:4])
    assert abs(x - target[0]) <= 2 and abs(y - target[1]) <= 2, (tap, target)
    assert sim.screen.pressed == {"B": 1}
    _check_recorded(result, family)
