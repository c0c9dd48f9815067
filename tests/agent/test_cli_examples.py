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


def test_demo_runs_every_part_offline(tmp_path: Path) -> None:
    """examples/demo.py without weights: a rule-based run that executes actions, its
    report, an export with samples, a replay that re-executes it, one tiny-model step."""
    import json
    import os

    env = {k: v for k, v in os.environ.items() if k != "QWEN_AGENT_MODEL"}
    env.update(HF_HUB_OFFLINE="1", XDG_CACHE_HOME=str(tmp_path / "cache"))
    runs = tmp_path / "runs"
    done = subprocess.run([sys.executable, str(EXAMPLES / "demo.py"), "--runs", str(runs)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path, env=env)
    assert done.returncode == 0, (done.stdout, done.stderr)
    assert "HF_HUB_OFFLINE is set); the offline demo runs instead" in done.stdout
    run_dir, replay_dir = sorted(p for p in runs.iterdir() if p.name != "exports")
    run, replayed = load_trajectory(run_dir), load_trajectory(replay_dir)
    assert run.status == "success" and sum(s.executed for s in run.steps) == 3
    assert (run_dir / "report.html").is_file()
    samples = json.loads((runs / "exports" / run_dir.name / "data.json").read_text(encoding="utf-8"))
    assert len(samples) == len(run.steps) == 4
    assert replayed.status == "completed" and sum(s.executed for s in replayed.steps) == 3
    assert replayed.steps[-2].observation.title == "Sign up"  # observed before the last click
    assert replayed.steps[-1].observation.title == "Signed up"  # and the replay's final screen
    assert re.search(r"prompt: \d+ tokens, \d+ of them for the \d+x\d+ model image", done.stdout)
    assert "-> parser: " in done.stdout
