"""AndroidControl from TFRecord files the tests write in the release's schema.

Phone screens of 280x560 (multiples of 28) keep model pixels equal to screenshot
pixels, so the forced answers below are exactly the points scored.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from fixtures.datasets import tfrecord_bytes, write_tfrecord
from fixtures.eval_cases import AC_ANSWERS as ANSWERS
from fixtures.eval_cases import AC_PHONE as PHONE
from fixtures.eval_cases import AC_ROWS as EXPECTED_ROWS
from fixtures.eval_cases import EPISODE_A, EPISODE_B
from fixtures.eval_cases import episode_record as record

from qwen_gui_agent.actions.models import Drag, Scroll
from qwen_gui_agent.agent.evaluation import AndroidControl, evaluate
from qwen_gui_agent.agent.evaluation.androidcontrol import dataset_action, predicted
from qwen_gui_agent.agent.evaluation.metrics import grid_distance, token_f1
from qwen_gui_agent.errors import DatasetError


def test_type_grounding_and_step_accuracy_equal_the_hand_count(
        release: Path, scripted_policy: Any, tmp_path: Path) -> None:
    policy = scripted_policy(ANSWERS)
    predictions = tmp_path / "ac.jsonl"
    results = evaluate(AndroidControl(release), policy, predictions=predictions)

    assert results.complete, results.stopped
    assert results.tables[0].rows == EXPECTED_ROWS
    assert results.metrics["type"]["hits"] == 5 and results.metrics["step"]["hits"] == 4
    assert results.metrics["grounding"] == {"value": 1 / 3, "hits": 1, "total": 3}
    print("\n" + results.text())

    lines = {json.loads(l)["id"]: json.loads(l) for l in predictions.read_text().splitlines()}
    assert list(lines) == ["101:0", "101:1", "102:0", "102:1", "102:2", "102:3", "104:0"]
    assert lines["101:0"]["why"] == ("click at [150, 110], 40/1000 from the true [140, 100] "
                                     "(within 140)")
    assert lines["101:1"]["why"] == "scroll down, the step scrolls down"
    assert lines["102:1"]["metrics"] == {"type": True, "grounding": False, "step": False}
    assert lines["102:2"]["why"] == "'hello Ann' matches 'hello there Ann'"
    assert lines["102:3"]["why"] == "predicted click, the step is navigate_back"
    assert lines["104:0"]["error"].startswith("unreadable image")
    assert lines["102:0"]["input"]["truth"] == {"action_type": "open_app", "app_name": "Messages"}
    assert lines["102:0"]["input"]["step_instruction"] == "Open Messages"


def test_high_level_asks_the_goal_with_the_dataset_history(release: Path, scripted_policy: Any) -> None:
    policy = scripted_policy(ANSWERS[:4])
    prompts: list[tuple[str, str]] = []
    decide = policy.decide

    def spy(task: str, observation: Any, history: Any) -> Any:
        decision = decide(task, observation, history)
        prompts.append((task, json.dumps(decision.prompt)))
        assert observation.env == "android" and observation.image.size == PHONE
        return decision

    policy.decide = spy
    evaluate(AndroidControl(release, level="high"), policy, limit=4)
    assert [task for task, _ in prompts] == ["Turn on dark mode"] * 2 + ["Send hello to Ann"] * 2
    assert "Step 1" not in prompts[2][1]  # a new episode starts without history
    step_one = json.dumps({"name": "mobile_use", "arguments": {"action": "open", "text": "Messages"}})
    assert "Step 1: " + step_one.replace('"', '\\"') in prompts[3][1]


def test_low_level_adds_the_step_instruction(release: Path, scripted_policy: Any) -> None:
    policy = scripted_policy(ANSWERS[:1])
    tasks: list[str] = []
    decide = policy.decide
    policy.decide = lambda task, o, h: tasks.append(task) or decide(task, o, h)
    evaluate(AndroidControl(release, level="low"), policy, limit=1)
    assert tasks == ["Turn on dark mode\nNext step: Open the display settings"]


def test_splits(release: Path) -> None:
    def episodes(**kwargs: Any) -> list[int]:
        return [e["episode_id"] for e in AndroidControl(release, **kwargs).episodes()]

    assert episodes() == [101, 102, 104]
    assert episodes(split="train") == [103]
    assert episodes(split="all") == [101, 103, 102, 104]
    (release / "splits.json").unlink()
    assert episodes() == [101, 103, 102, 104]  # no splits.json: every episode
    with pytest.raises(DatasetError, match=r"splits\.json: missing, and split 'test' needs it"):
        AndroidControl(release, split="test")


@pytest.mark.parametrize("changes, message", [
    ({"drop": ["actions"]}, r"field 'actions' is missing"),
    ({"actions": EPISODE_A["actions"][:1], "instructions": ["a"]},
     r"field 'actions': 1 actions for 3 screenshots \(expected one fewer\)"),
    ({"instructions": ["only one"]}, r"field 'step_instructions': 1 for 2 actions"),
    ({"actions": [{"action_type": "fly"}, {"action_type": "wait"}]},
     r"field 'actions' \[0\]: field 'action_type': unknown 'fly'"),
    ({"actions": [{"action_type": "click", "x": "left"}, {"action_type": "wait"}]},
     r"field 'actions' \[0\]: fields 'x'/'y': expected numbers"),
    ({"actions": [{"action_type": "scroll", "direction": "sideways"}, {"action_type": "wait"}]},
     r"field 'actions' \[0\]: field 'direction': expected one of up, down, left, right"),
    ({"sizes": [PHONE, PHONE]}, r"3 screenshots but 2 widths and 2 heights"),
])
def test_a_malformed_episode_names_the_file_the_record_and_the_field(
        tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    path = write_tfrecord(tmp_path / "ac" / "android_control-00000-of-00001",
                          [record(EPISODE_B), record(EPISODE_A, **changes)])
    with pytest.raises(DatasetError, match=r"android_control-00000-of-00001: record 1 "
                                           r"\(episode 101\): " + message):
        list(AndroidControl(path.parent).samples())


def test_a_broken_file_is_named(tmp_path: Path) -> None:
    root = tmp_path / "ac"
    root.mkdir()
    with pytest.raises(DatasetError, match=r"no TFRecord files"):
        AndroidControl(root)
    good = tfrecord_bytes([record(EPISODE_A), record(EPISODE_B)])
    (root / "android_control-00000-of-00001").write_bytes(good)  # not gzipped
    with pytest.raises(DatasetError, match=r"00001: record 0: cannot read the gzipped TFRecord"):
        list(AndroidControl(root).samples())
    (root / "android_control-00000-of-00001").write_bytes(gzip.compress(good)[:-300])  # cut short
    with pytest.raises(DatasetError, match=r"00001: record \d: cannot read the gzipped TFRecord"):
        list(AndroidControl(root).samples())
    cut = gzip.compress(good[:-40])  # the last record's data ends early
    (root / "android_control-00000-of-00001").write_bytes(cut)
    with pytest.raises(DatasetError, match=r"00001: record 1: cannot read"):
        list(AndroidControl(root).samples())


def test_the_action_mapping() -> None:
    screen = (1080, 2400)
    assert dataset_action({"action_type": "type", "text": "x", "x": 1, "y": 2}, screen, "w").type == "type"
    assert dataset_action({"action_type": "navigate_home"}, screen, "w").action().button == "home"
    swipe_up = Drag(x=540, y=1800, to_x=540, to_y=600)
    assert predicted(swipe_up, screen).direction == "down"
    assert predicted(Drag(x=900, y=1200, to_x=100, to_y=1200), screen).direction == "right"
    assert predicted(Scroll(dy=300), screen).direction == "down"
    assert predicted(Scroll(dx=-300), screen).direction == "left"
    history = dataset_action({"action_type": "scroll", "direction": "down"}, screen, "w").action()
    assert predicted(history, screen).direction == "down"  # the history's swipe reads back the same
    # 14% of the screen on the 0-1000 grid, whatever the aspect ratio
    assert grid_distance((0, 0), screen, (151.2, 0), screen) == pytest.approx(140)
    assert grid_distance((0, 0), screen, (0, 336), screen) == pytest.approx(140)
    assert token_f1("hello Ann", "hello there Ann") == pytest.approx(0.8)
