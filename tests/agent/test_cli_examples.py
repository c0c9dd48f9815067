"""The offline example runs for real: a user-written policy drives the Agent in Chromium."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from qwen_gui_agent.trajectories import load_trajectory

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def test_custom_policy_example_signs_up_offline(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, str(EXAMPLES / "custom_policy.py"), "--name", "Grace Hopper",
                           "--record", str(tmp_path)], capture_output=True, text=True, timeout=180,
                          cwd=tmp_path)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "success in 4 steps; page says: 'Welcome, Grace Hopper!'" in done.stdout
    path = re.search(r"^trajectory: (.+)$", done.stdout, re.M)
    assert path is not None
    trajectory = load_trajectory(path.group(1))
    assert [s.actions[0].type for s in trajectory.steps] == ["click", "type", "click", "terminate"]
    assert trajectory.steps[-1].observation.title == "Signed up"
