"""The predictions file: appended as it goes, kept on Ctrl-C, continued by resume."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fixtures.datasets import screenshot, write_screenspot
from fixtures.ports import closed_port

from qwen_gui_agent.agent.evaluation import ScreenSpot, evaluate
from qwen_gui_agent.errors import UsageError

SCREEN = (560, 336)
BOXES = [[10, 10, 40, 20], [100, 10, 40, 20], [200, 10, 40, 20], [300, 10, 40, 20], [400, 10, 40, 20]]
# The model clicks inside boxes 0, 2 and 3: 3 of 5 right.
POINTS = [(20, 15), (50, 50), (210, 20), (320, 25), (10, 300)]


def click(point: tuple[int, int]) -> dict[str, Any]:
    return {"name": "computer_use", "arguments": {"action": "left_click", "coordinate": list(point)}}


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    rows = [{"img_filename": f"{i}.png", "instruction": f"target {i}", "bbox": box, "data_type": "text"}
            for i, box in enumerate(BOXES)]
    return write_screenspot(tmp_path / "ss", {"web": rows},
                            {f"{i}.png": screenshot(SCREEN) for i in range(len(BOXES))})


def interrupting(policy: Any, after: int) -> Any:
    """``policy`` whose decide raises KeyboardInterrupt (Ctrl-C) on call ``after + 1``."""
    decide, calls = policy.decide, []

    def wrapped(*args: Any) -> Any:
        calls.append(1)
        if len(calls) > after:
            raise KeyboardInterrupt
        return decide(*args)

    policy.decide = wrapped
    return policy


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def test_ctrl_c_keeps_what_was_scored_and_resume_continues(
        dataset: Path, scripted_policy: Any, tmp_path: Path) -> None:
    predictions = tmp_path / "p.jsonl"
    first = evaluate(ScreenSpot(dataset), interrupting(scripted_policy([click(p) for p in POINTS]), 2),
                     predictions=predictions)
    assert first.interrupted and not first.complete
    assert [s.id for s in first.scores] == ["web:0", "web:1"]
    assert [line["id"] for line in lines(predictions)] == ["web:0", "web:1"]
    assert "INTERRUPTED" in first.text()

    policy = scripted_policy([click(p) for p in POINTS[2:]])
    second = evaluate(ScreenSpot(dataset), policy, predictions=predictions, resume=True)
    assert second.complete and second.resumed == 2 and policy.logits_processor.used == 3
    assert second.metrics["accuracy"] == {"value": 0.6, "hits": 3, "total": 5}
    assert [line["id"] for line in lines(predictions)] == [f"web:{i}" for i in range(5)]
    assert "5 scored (2 resumed, 3 in" in second.text()

    again = evaluate(ScreenSpot(dataset), scripted_policy(["unused"]), predictions=predictions,
                     resume=True)
    assert again.resumed == 5 and again.metrics["accuracy"]["hits"] == 3


def test_resume_refuses_a_file_made_otherwise(dataset: Path, scripted_policy: Any,
                                              tmp_path: Path) -> None:
    predictions = tmp_path / "p.jsonl"
    evaluate(ScreenSpot(dataset), scripted_policy([click(POINTS[0])]), predictions=predictions,
             limit=1, model={"model": "a"})
    with pytest.raises(UsageError, match="already holds predictions: pass --resume"):
        evaluate(ScreenSpot(dataset), scripted_policy(["unused"]), predictions=predictions, model={"model": "a"})
    with pytest.raises(UsageError, match=r"p\.jsonl:1 was made with model \{'model': 'a'\}"):
        evaluate(ScreenSpot(dataset), scripted_policy(["unused"]), predictions=predictions, resume=True,
                 model={"model": "b"})
    with pytest.raises(UsageError, match=r"p\.jsonl:1 was made with settings"):
        evaluate(ScreenSpot(dataset, instruction="Tap {description}"), scripted_policy(["unused"]),
                 predictions=predictions, resume=True, model={"model": "a"})
    with pytest.raises(UsageError, match="does not exist"):
        evaluate(ScreenSpot(dataset), scripted_policy(["unused"]), predictions=tmp_path / "none.jsonl",
                 resume=True)


def test_a_torn_last_line_is_dropped_and_rewritten(dataset: Path, scripted_policy: Any,
                                                   tmp_path: Path) -> None:
    predictions = tmp_path / "p.jsonl"
    evaluate(ScreenSpot(dataset), scripted_policy([click(p) for p in POINTS[:2]]),
             predictions=predictions, limit=2)
    with open(predictions, "a") as file:
        file.write('{"suite": "screenspot", "id": "web:2", "gro')  # killed mid-line
    results = evaluate(ScreenSpot(dataset), scripted_policy([click(p) for p in POINTS[2:]]),
                       predictions=predictions, resume=True)
    assert results.resumed == 2 and len(results.scores) == 5
    assert [line["id"] for line in lines(predictions)] == [f"web:{i}" for i in range(5)]


def test_limit_counts_resumed_samples(dataset: Path, scripted_policy: Any, tmp_path: Path) -> None:
    predictions = tmp_path / "p.jsonl"
    evaluate(ScreenSpot(dataset), scripted_policy([click(POINTS[0])]), predictions=predictions, limit=1)
    policy = scripted_policy([click(p) for p in POINTS[1:3]])
    results = evaluate(ScreenSpot(dataset), policy, predictions=predictions, resume=True, limit=3)
    assert [s.id for s in results.scores] == ["web:0", "web:1", "web:2"]


def test_an_unreachable_server_stops_the_run_with_the_reason(dataset: Path, tmp_path: Path) -> None:
    from qwen_gui_agent.model.endpoint import OpenAIPolicy

    policy = OpenAIPolicy(f"http://127.0.0.1:{closed_port()}", "m", max_retries=0)
    results = evaluate(ScreenSpot(dataset), policy, predictions=tmp_path / "p.jsonl", concurrency=2)
    assert results.stopped and "cannot reach" in results.stopped
    assert results.scores == [] and "STOPPED" in results.text()
