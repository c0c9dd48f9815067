"""Recorded runs as a test set: trajectories written by the real Recorder, a forced model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fixtures.datasets import screenshot

from qwen_gui_agent.actions import Frame
from qwen_gui_agent.actions.decision import Decision
from qwen_gui_agent.actions.models import Click, Key, Scroll, Terminate, TypeText
from qwen_gui_agent.actions.observation import Observation
from qwen_gui_agent.agent.evaluation import RecordedRuns, evaluate
from qwen_gui_agent.agent.evaluation.runs import same_action
from qwen_gui_agent.errors import TrajectoryError
from qwen_gui_agent.trajectories import Recorder

SCREEN = (560, 336)


def computer(action: str, **arguments: Any) -> dict[str, Any]:
    return {"name": "computer_use", "arguments": {"action": action, **arguments}}


def record_run(root: Path, label: str, task: str, env: str, steps: list[Any]) -> Path:
    """A finished run; each step is an action (decided) or a string (a parse error fed back)."""
    header = {"task": task, "env": env, "tool_name": "computer_use"}
    recorder = Recorder(root / label, header)
    for index, step in enumerate(steps, start=1):
        observation = Observation(image=screenshot(SCREEN, [(10 * index, 10, 10 * index + 40, 40)]),
                                  env=env)
        if isinstance(step, str):
            recorder.record_step(index=index, observation=observation, decision=None, outcome=None,
                                 error=step, feedback=step, timings={}, raw="garbage")
            continue
        decision = Decision(actions=(step,), raw=f"<tool_call>{step.type}</tool_call>",
                            thought=f"thought {index}", model_size=Frame(*SCREEN).model_size)
        recorder.record_step(index=index, observation=observation, decision=decision, outcome=None,
                             error=None, feedback=None, timings={})
    recorder.finish(status="success", steps=len(steps))
    recorder.close()
    return recorder.path


@pytest.fixture
def runs(tmp_path: Path) -> list[Path]:
    first = record_run(tmp_path, "r1", "Copy the greeting", "desktop", [
        Click(x=100, y=100), "No tool call found.", TypeText(text="hello"), Click(x=300, y=200),
        Terminate(status="success")])
    second = record_run(tmp_path, "r2", "Read the page", "browser", [
        Scroll(x=280, y=168, dy=300), Key(keys=["ctrl", "c"]), Click(x=20, y=20)])
    (second / "screenshots" / "step_0003.png").unlink()  # lost: an error in the table
    return [first, second]


ANSWERS = [
    computer("left_click", coordinate=[110, 110]),              # 14 px from (100, 100): right
    computer("type", text="hullo"),                             # other text: type only
    computer("left_click", coordinate=[340, 200]),              # 40 px away: type only
    computer("terminate", status="success"),                    # right
    computer("scroll", pixels=-500, coordinate=[280, 168]),     # down, another distance: right
    computer("key", keys=["c", "ctrl"]),                        # the same keys: right
]


def test_type_and_step_accuracy_equal_the_hand_count(runs: list[Path], scripted_policy: Any,
                                                     tmp_path: Path) -> None:
    policy = scripted_policy(ANSWERS)
    predictions = tmp_path / "runs.jsonl"
    results = evaluate(RecordedRuns(runs), policy, predictions=predictions)

    by_action, by_run = results.tables
    assert by_action.rows == [
        ["click", "3", "66.7 (2/3)", "33.3 (1/3)"],
        ["key", "1", "100.0 (1/1)", "100.0 (1/1)"],
        ["scroll", "1", "100.0 (1/1)", "100.0 (1/1)"],
        ["terminate", "1", "100.0 (1/1)", "100.0 (1/1)"],
        ["type", "1", "100.0 (1/1)", "0.0 (0/1)"],
        ["overall", "7", "85.7 (6/7)", "57.1 (4/7)"],
    ]
    assert by_run.rows == [["r1", "4", "100.0 (4/4)", "50.0 (2/4)"],
                           ["r2", "3", "66.7 (2/3)", "66.7 (2/3)"],
                           ["overall", "7", "85.7 (6/7)", "57.1 (4/7)"]]
    print("\n" + results.text())
    lines = {json.loads(l)["id"]: json.loads(l) for l in predictions.read_text().splitlines()}
    assert list(lines) == ["r1:1", "r1:3", "r1:4", "r1:5", "r2:1", "r2:2", "r2:3"]
    assert lines["r1:1"]["why"] == "click as recorded (points within 25 px)"
    assert lines["r1:3"]["why"] == "text: predicted 'hullo', recorded 'hello'"
    assert lines["r1:4"]["why"] == ("click x,y [340, 200] is 40 px from the recorded [300, 200] "
                                    "(tolerance 25)")
    assert "step 3: screenshot screenshots/step_0003.png is missing" in lines["r2:3"]["error"]
    assert lines["r1:1"]["input"]["recorded"] == {"type": "click", "x": 100, "y": 100,
                                                  "button": "left", "count": 1}


def test_the_model_sees_the_recorded_task_screenshot_and_history(runs: list[Path],
                                                                 scripted_policy: Any) -> None:
    policy = scripted_policy(ANSWERS[:3])
    seen: list[Any] = []
    decide = policy.decide

    def spy(task: str, observation: Any, history: Any) -> Any:
        seen.append((task, observation, list(history), decide(task, observation, history)))
        return seen[-1][3]

    policy.decide = spy
    evaluate(RecordedRuns(runs), policy, limit=3)
    task, observation, history, decision = seen[2]  # run r1, step 4
    assert task == "Copy the greeting" and observation.env == "desktop"
    assert observation.image.getpixel((45, 25)) != (240, 240, 240)  # step 4's own button
    assert [h.actions for h in history] == [(Click(x=100, y=100),), (), (TypeText(text="hello"),)]
    assert history[1].feedback == "No tool call found."
    prompt = json.dumps(decision.prompt)
    assert "Step 2: (no action; No tool call found.)" in prompt and "Step 3: " in prompt


def test_tolerance(runs: list[Path], scripted_policy: Any) -> None:
    results = evaluate(RecordedRuns(runs, tolerance=50), scripted_policy(ANSWERS))
    assert results.metrics["step"]["hits"] == 5


def test_same_action_rules() -> None:
    assert same_action(Click(x=0, y=0), Click(x=3, y=4), 5)[1]
    assert not same_action(Click(x=0, y=0), Click(x=3, y=4), 4.9)[1]
    assert same_action(Click(x=0, y=0, button="right"), Click(x=0, y=0), 5)[:2] == (True, False)
    assert not same_action(Scroll(dy=100), Scroll(dy=-100), 5)[1]
    assert same_action(Terminate(status="success"), Click(x=0, y=0), 5)[:2] == (False, False)


def test_a_broken_trajectory_is_named(tmp_path: Path) -> None:
    run = tmp_path / "run"
    run.mkdir()
    (run / "trajectory.jsonl").write_text('{"type": "header"}\n')
    with pytest.raises(TrajectoryError, match=r"trajectory\.jsonl:1: not a valid trajectory line"):
        RecordedRuns([run])
