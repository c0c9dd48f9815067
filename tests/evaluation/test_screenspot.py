"""ScreenSpot and ScreenSpot-Pro on datasets the tests render, scored by a forced tiny model.

Screens are sized in multiples of 28, so the model's image is the screenshot itself and
a forced coordinate is the screenshot pixel the score sees: every expected number
below is counted by hand from the records.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fixtures.datasets import screenshot, write_screenspot, write_screenspot_pro
from fixtures.eval_cases import SCREENSPOT_CASES as CASES
from fixtures.eval_cases import SCREENSPOT_ROWS as EXPECTED_ROWS
from fixtures.eval_cases import SS_PHONE as PHONE
from fixtures.eval_cases import SS_SCREEN as SCREEN
from fixtures.eval_cases import click
from fixtures.eval_cases import screenspot_answers as answers
from fixtures.eval_cases import screenspot_record as record

from qwen_gui_agent.agent.evaluation import ScreenSpot, ScreenSpotPro, evaluate
from qwen_gui_agent.errors import DataError, DatasetError, QwenAgentError


def test_accuracies_per_split_and_type_equal_the_hand_count(
        screenspot_dir: Path, scripted_policy: Any, tmp_path: Path) -> None:
    policy = scripted_policy(answers())
    predictions = tmp_path / "predictions.jsonl"
    results = evaluate(ScreenSpot(screenspot_dir), policy, predictions=predictions)

    assert results.complete, results.stopped
    table = results.tables[0]
    assert table.columns == ["split", "text", "icon", "all"]
    assert table.rows == EXPECTED_ROWS
    assert results.metrics["accuracy"] == {"value": 3 / 8, "hits": 3, "total": 8}
    assert results.metrics["by_split_type"]["desktop/icon"]["hits"] == 1
    assert "errors (counted as wrong): 1 (1 x unreadable image)" in table.notes
    assert policy.logits_processor.used == 7  # the corrupt image was never sent
    print("\n" + results.text())

    lines = [json.loads(line) for line in predictions.read_text().splitlines()]
    assert [line["id"] for line in lines] == ["mobile:0", "mobile:1", "mobile:2", "desktop:0",
                                              "desktop:1", "web:0", "web:1", "web:2"]
    assert [line["correct"] for line in lines] == [True, True, False, False, True, False, False, False]
    by_id = {line["id"]: line for line in lines}
    assert by_id["mobile:0"]["input"]["instruction"] == "target alpha"
    assert by_id["mobile:0"]["why"] == "(120, 140) is inside the box [40, 100, 120, 140]"
    assert by_id["mobile:0"]["actions"] == [{"type": "click", "x": 120, "y": 140, "button": "left",
                                             "count": 1}]
    assert '"coordinate": [120, 140]' in by_id["mobile:0"]["raw"]
    assert by_id["mobile:2"]["why"] == "(41, 25) is outside the box [10, 10, 40, 40]"
    assert by_id["desktop:0"]["why"].startswith("unusable output: No tool call found")
    assert by_id["desktop:0"]["raw"] == "I cannot find it."
    assert by_id["desktop:1"]["why"] == "(0, 220) is inside the box [-5, 200, 35, 240]"
    assert by_id["web:0"]["why"] == "no point: asked to point at 'target foxtrot', the model answered with key"
    assert by_id["web:1"]["error"].startswith("unreadable image: ")
    assert "w1.png" in by_id["web:1"]["error"] and by_id["web:1"]["raw"] is None
    assert "outside the screen" in by_id["web:2"]["why"]
    assert {line["suite"] for line in lines} == {"screenspot"}


def test_the_prompt_is_the_run_time_grounding_prompt(screenspot_dir: Path, scripted_policy: Any) -> None:
    """Mobile screenshots are asked with the phone tool, the others with the computer tool,
    and the task is exactly what ``locate`` sends."""
    policy = scripted_policy(answers())
    seen: list[Any] = []
    decide = policy.decide

    def spy(task: str, observation: Any, history: Any) -> Any:
        decision = decide(task, observation, history)
        seen.append((task, observation.env, json.dumps(decision.prompt)))
        return decision

    policy.decide = spy
    evaluate(ScreenSpot(screenspot_dir), policy, limit=5)
    assert [(task, env) for task, env, _ in seen][:2] == [("Click on target alpha.", "android"),
                                                          ("Click on target bravo.", "android")]
    assert seen[-1][:2] == ("Click on target echo.", "desktop")  # target delta's answer did not parse
    assert "mobile_use" in seen[0][2] and "computer_use" in seen[-1][2]
    assert "The screen's resolution is 336x560" in seen[0][2]


def test_batched_local_decoding_scores_the_same(screenspot_dir: Path, scripted_policy: Any) -> None:
    results = evaluate(ScreenSpot(screenspot_dir), scripted_policy(answers()), batch_size=4)
    assert results.tables[0].rows == EXPECTED_ROWS


def test_an_endpoint_with_concurrent_requests_scores_the_same(
        screenspot_dir: Path, keyed_server: Any) -> None:
    from fixtures.models import script_texts

    from qwen_gui_agent.model.endpoint import OpenAIPolicy

    cases = [(row["instruction"], answer) for _, row, answer in CASES if answer is not None]
    keyed_server.answers = dict(zip([k for k, _ in cases], script_texts([a for _, a in cases])))
    policy = OpenAIPolicy(keyed_server.base_url, "tiny-qwen")
    results = evaluate(ScreenSpot(screenspot_dir), policy, concurrency=4)
    assert results.tables[0].rows == EXPECTED_ROWS
    assert len([r for r in keyed_server.requests if r["path"].endswith("/completions")]) == 7


def test_screenspot_pro_boxes_are_corners_and_groups_are_reported(
        tmp_path: Path, scripted_policy: Any) -> None:
    """The same box as ScreenSpot's [100, 50, 40, 30] is [100, 50, 140, 80] here; its far
    corner is inside, one pixel beyond is not. A record whose img_size differs from the
    image maps the point into img_size pixels."""
    def pro(name: str, instruction: str, bbox: list[float], kind: str, group: str,
            size: tuple[int, int] = SCREEN) -> dict[str, Any]:
        return {"img_filename": f"app/{name}", "img_size": list(size), "instruction": instruction,
                "bbox": bbox, "ui_type": kind, "group": group, "platform": "linux",
                "application": "app"}

    rows = [pro("a.png", "target one", [100, 50, 140, 80], "text", "Dev"),      # (140, 80): right
            pro("b.png", "target two", [100, 50, 140, 80], "icon", "Dev"),      # (141, 80): wrong
            pro("c.png", "target three", [200, 100, 240, 140], "icon", "CAD",
                size=(1120, 672)),                                               # (110, 60) x2: right
            pro("d.png", "target four", [0, 0, 10, 10], "text", "Office")]      # (20, 20): wrong
    images = {r["img_filename"]: screenshot(SCREEN) for r in rows}
    data = write_screenspot_pro(tmp_path / "ScreenSpot-Pro", {"app_linux": rows}, images)
    policy = scripted_policy([click(140, 80), click(141, 80), click(110, 60), click(20, 20)])

    results = evaluate(ScreenSpotPro(data), policy)

    assert results.tables[0].rows == [
        ["Dev", "100.0 (1/1)", "0.0 (0/1)", "50.0 (1/2)"],
        ["CAD", "-", "100.0 (1/1)", "100.0 (1/1)"],
        ["Office", "0.0 (0/1)", "-", "0.0 (0/1)"],
        ["overall", "50.0 (1/2)", "50.0 (1/2)", "50.0 (2/4)"],
    ]
    assert results.metrics["by_group"]["Dev"]["hits"] == 1
    scaled = results.scores[2]
    assert scaled.why == "(110, 60) = (220, 120) at img_size is inside the box [200, 100, 240, 140]"
    print("\n" + results.text())


def test_xywh_boxes_read_as_corners_are_refused(tmp_path: Path) -> None:
    rows = {"mobile": [record("m.png", "x", [100, 50, 40, -30], "text")]}
    data = write_screenspot(tmp_path / "ss", rows, {"m.png": screenshot(PHONE)})
    with pytest.raises(DatasetError, match=r"screenspot_mobile_v2\.json: record 0: field 'bbox'.*"
                                           r"\[x, y, w, h\]"):
        ScreenSpot(data).records()
    pro = write_screenspot_pro(tmp_path / "pro", {"a": [{
        "img_filename": "a.png", "img_size": [560, 336], "instruction": "x", "bbox": [100, 50, 40, 30],
        "ui_type": "icon", "group": "OS"}]}, {"a.png": screenshot(SCREEN)})
    with pytest.raises(DatasetError, match=r"annotations/a\.json: record 0: field 'bbox'.*x2 < x1"):
        ScreenSpotPro(pro).records()


def test_normalised_boxes_are_scaled_by_the_image(tmp_path: Path, scripted_policy: Any) -> None:
    rows = {"desktop": [record("d.png", "target", [0.25, 0.5, 0.125, 0.25], "icon")]}
    data = write_screenspot(tmp_path / "ss", rows, {"d.png": screenshot(SCREEN)})
    results = evaluate(ScreenSpot(data), scripted_policy([click(210, 252)]))  # box 140..210, 168..252
    assert results.scores[0].correct
    assert results.scores[0].extra["bbox_normalised"] is True


@pytest.mark.parametrize("mutate, message", [
    (lambda r: r.pop("bbox"), r"record 1: field 'bbox': expected \[x, y, w, h\] \(4 numbers\), got None"),
    (lambda r: r.update(bbox=[1, 2, "3", 4]), r"record 1: field 'bbox'"),
    (lambda r: r.update(data_type="button"), r"record 1: field 'data_type': expected one of text, icon"),
    (lambda r: r.pop("instruction"), r"record 1: field 'instruction'"),
    (lambda r: r.update(img_filename="../../etc/passwd"), r"record 1: field 'img_filename'.*outside"),
])
def test_a_malformed_record_names_the_file_the_record_and_the_field(
        tmp_path: Path, mutate: Any, message: str) -> None:
    rows = [record("m.png", "a", [1, 2, 3, 4], "text"), record("m.png", "b", [1, 2, 3, 4], "icon")]
    mutate(rows[1])
    data = write_screenspot(tmp_path / "ss", {"mobile": rows}, {"m.png": screenshot(PHONE)})
    with pytest.raises(DatasetError, match=r"screenspot_mobile_v2\.json: " + message) as caught:
        ScreenSpot(data).records()
    assert isinstance(caught.value, DataError) and isinstance(caught.value, QwenAgentError)


def test_missing_files_are_named(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match="no such dataset directory"):
        ScreenSpot(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match=r"no image folder \(screenspotv2_image or screenspot_imgs\)"):
        ScreenSpot(tmp_path / "empty")
    (tmp_path / "empty" / "screenspot_imgs").mkdir()
    with pytest.raises(DatasetError, match=r"none of screenspot_mobile_v2\.json, "
                                           r"screenspot_desktop_v2\.json, screenspot_web_v2\.json"):
        ScreenSpot(tmp_path / "empty").records()
    (tmp_path / "empty" / "screenspot_web_v2.json").write_text("{not json")
    with pytest.raises(DatasetError, match=r"screenspot_web_v2\.json: not a readable JSON file"):
        ScreenSpot(tmp_path / "empty").records()
    with pytest.raises(DatasetError, match=r"annotations: missing"):
        ScreenSpotPro(tmp_path / "empty")


def test_a_split_file_that_is_missing_is_noted(tmp_path: Path, scripted_policy: Any) -> None:
    rows = {"web": [record("w.png", "target", [0, 0, 100, 100], "text")]}
    data = write_screenspot(tmp_path / "ss", rows, {"w.png": screenshot(SCREEN)}, version=1)
    results = evaluate(ScreenSpot(data, version=1), scripted_policy([click(5, 5)]))
    assert results.tables[0].rows == [["web", "100.0 (1/1)", "-", "100.0 (1/1)"],
                                      ["overall", "100.0 (1/1)", "-", "100.0 (1/1)"]]
    assert results.tables[0].notes == ["missing split file: screenspot_mobile.json",
                                       "missing split file: screenspot_desktop.json"]
