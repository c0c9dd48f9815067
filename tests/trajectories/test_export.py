"""SFT export of a recorded browser run: layouts, model-pixel coordinates, filters."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from qwen_gui_agent.actions.frame import Frame
from qwen_gui_agent.errors import ExportError, TrajectoryError
from qwen_gui_agent.trajectories import export, load_trajectory
from qwen_gui_agent.trajectories.export import LLAMAFACTORY_DATASET_INFO

_CALL = re.compile(r"<tool_call>\n(.*?)\n</tool_call>", re.S)


def _calls(text: str) -> list[dict[str, Any]]:
    return [json.loads(body) for body in _CALL.findall(text)]


def test_qwen_vl_finetune_layout(todo_run: Path, tmp_path: Path, kit: Any) -> None:
    summary = export([todo_run], tmp_path, format="qwen-vl-finetune")
    assert summary.samples == 4 and summary.runs == 1 and summary.skipped_steps == {}
    data = json.loads(summary.data_file.read_text())
    run = load_trajectory(todo_run)
    assert len(data) == len(run.steps)
    for sample, step in zip(data, run.steps):
        human, gpt = sample["conversations"]
        assert (human["from"], gpt["from"]) == ("human", "gpt")
        images = [sample["image"]] if isinstance(sample["image"], str) else sample["image"]
        assert human["value"].count("<image>") == len(images) == 1
        assert human["value"].startswith("# Tools") and "<tools>" in human["value"]
        assert f"The user query:  {kit.TASK}" in human["value"]
        frame = Frame(*step.screen_size, kit.BOUNDS)
        assert f"The screen's resolution is {frame.model_width}x{frame.model_height}." in human["value"]
        with Image.open(tmp_path / images[0]) as image:
            assert image.size == frame.model_size
        assert gpt["value"].startswith(step.thought + "\n<tool_call>\n")
        (call,) = _calls(gpt["value"])
        action = step.actions[0]
        if action.point is not None:  # coordinates in model pixels, not screenshot pixels
            assert call["arguments"]["coordinate"] == list(frame.to_model(*action.point))
            assert list(frame.to_model(*action.point)) != list(action.point)
    assert [c["arguments"]["action"] for s in data for c in _calls(s["conversations"][1]["value"])] \
        == ["left_click", "type", "left_click", "terminate"]
    # the history of step 3 lists steps 1 and 2 as the model wrote them
    assert data[2]["conversations"][0]["value"].count("Step ") == 2


def test_llamafactory_layout_and_dataset_info(todo_run: Path, tmp_path: Path) -> None:
    (tmp_path / "dataset_info.json").write_text(json.dumps({"other": {"file_name": "x.json"}}))
    summary = export(todo_run, tmp_path, format="llamafactory")
    data = json.loads(summary.data_file.read_text())
    assert len(data) == summary.samples == 4
    for sample in data:
        roles = [m["role"] for m in sample["messages"]]
        assert roles == ["system", "user", "assistant"]
        system, user, assistant = (m["content"] for m in sample["messages"])
        assert system.startswith("You are a helpful assistant.\n\n# Tools") and "<tools>" in system
        assert "<image>" not in system and "<image>" not in assistant
        assert user.count("<image>") == len(sample["images"]) == 1
        assert (tmp_path / sample["images"][0]).is_file()
        assert _calls(assistant)
    info = json.loads((tmp_path / "dataset_info.json").read_text())
    assert info["other"] == {"file_name": "x.json"}
    assert info["qwen_gui_agent"] == LLAMAFACTORY_DATASET_INFO
    assert info["qwen_gui_agent"]["tags"]["system_tag"] == "system"


def test_filters_choose_runs(todo_run: Path, tmp_path: Path) -> None:
    assert export([todo_run], tmp_path / "a", status="failure").runs_filtered == 1
    assert export([todo_run], tmp_path / "b", status=["failure", "success"]).samples == 4
    assert export([todo_run], tmp_path / "c", min_steps=5).samples == 0
    assert export([todo_run], tmp_path / "d", max_steps=3).runs == 0
    assert export([todo_run.parent], tmp_path / "e", min_steps=4, max_steps=4).runs >= 1
    assert json.loads((tmp_path / "c" / "data.json").read_text()) == []
    with pytest.raises(ExportError, match="unknown export format"):
        export([todo_run], tmp_path / "f", format="alpaca")  # type: ignore[arg-type]
    with pytest.raises(ExportError, match="min_steps"):
        export([todo_run], tmp_path / "g", min_steps=3, max_steps=2)
    with pytest.raises(TrajectoryError, match="expected a run folder holding trajectory.jsonl, or a folder"):
        export([tmp_path / "a" / "images"], tmp_path / "h")
    assert not (tmp_path / "h").exists() and not list(tmp_path.glob(".h.partial-*"))


def test_steps_without_a_usable_decision_give_no_sample(todo_run: Path, tmp_path: Path,
                                                        kit: Any) -> None:
    from qwen_gui_agent.actions.observation import Observation
    from qwen_gui_agent.trajectories import Recorder

    source = load_trajectory(todo_run)
    header = {"task": kit.TASK, "env": "browser", "image_bounds": kit.BOUNDS}
    with Recorder(tmp_path / "run", header) as recorder:
        for index, step in enumerate(source.steps, start=1):
            observation = Observation(image=source.image(step), env="browser")
            frame = Frame(*step.screen_size, kit.BOUNDS)
            decision = kit.scripted_decision(step.actions[0], frame, "t")
            fields: dict[str, Any] = dict(decision=decision, error=None)
            if index == 1:
                fields = dict(decision=None, error="unparsable output", raw="<tool_call>{")
            elif index == 2:
                fields["error"] = "point outside the screen"
            recorder.record_step(index=index, observation=observation, outcome=None,
                                 feedback=fields.get("error"), timings={}, **fields)
        declined = kit.scripted_decision(source.steps[0].actions[0], frame, "t")
        recorder.record_step(index=5, observation=observation, outcome=None, decision=declined,
                             error=None, feedback="The user declined this action", timings={})
        recorder.finish(status="failure", steps=5)
    (tmp_path / "run" / "screenshots" / "step_0003.png").unlink()
    summary = export([tmp_path / "run"], tmp_path / "out")
    assert summary.samples == 1 and summary.images == 1
    assert summary.skipped_steps == {"no_decision": 1, "action_failed": 1, "no_screenshot": 1,
                                     "not_performed": 1}
    (sample,) = json.loads(summary.data_file.read_text())
    human = sample["conversations"][0]["value"]
    # the failed steps still appear in the history, with the feedback the model got
    assert "Step 1: (no action; unparsable output)" in human
    assert "(point outside the screen)" in human and "Step 4" not in human


def test_an_exported_sample_tokenises_to_the_frame_image_tokens(
        todo_run: Path, tmp_path: Path, kit: Any, tiny_model: tuple[Any, Any]) -> None:
    _, processor = tiny_model
    summary = export([todo_run], tmp_path, format="llamafactory")
    sample = json.loads(summary.data_file.read_text())[0]
    system, user, assistant = (m["content"] for m in sample["messages"])
    before, after = user.split("<image>")
    image = Image.open(tmp_path / sample["images"][0]).convert("RGB")
    messages = [
        {"role": "system", "content": [{"type": "text", "text": system}]},
        {"role": "user", "content": [{"type": "text", "text": before}, {"type": "image", "image": image},
                                     {"type": "text", "text": after}]},
        {"role": "assistant", "content": [{"type": "text", "text": assistant}]},
    ]
    text = processor.apply_chat_template(messages, tokenize=False)
    inputs = processor(text=[text], images=[image], return_tensors="pt")
    image_token = processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")
    step = load_trajectory(todo_run).steps[0]
    frame = Frame(*step.screen_size, kit.BOUNDS)
    assert int((inputs["input_ids"] == image_token).sum()) == frame.image_tokens
    assert text.count("<|vision_start|>") == 1 and "<tool_call>" in text


def test_past_screenshots_shown_at_run_time_are_exported_too(todo_run: Path, tmp_path: Path,
                                                             kit: Any) -> None:
    from qwen_gui_agent.actions.observation import Observation
    from qwen_gui_agent.trajectories import Recorder

    source = load_trajectory(todo_run)
    header = {"task": kit.TASK, "env": "browser", "image_bounds": kit.BOUNDS, "policy": {"history_images": 2},
              "agent": {"history_images": 5}}
    with Recorder(tmp_path / "run", header) as recorder:
        for step in source.steps:
            frame = Frame(*step.screen_size, kit.BOUNDS)
            recorder.record_step(index=step.index, timings={}, outcome=None, error=None,
                                 feedback=None,
                                 observation=Observation(image=source.image(step), env="browser"),
                                 decision=kit.scripted_decision(step.actions[0], frame, "t"))
    summary = export([tmp_path / "run"], tmp_path / "out", format="qwen-vl-finetune")
    data = json.loads(summary.data_file.read_text())
    shown = [[sample["image"]] if isinstance(sample["image"], str) else sample["image"]
             for sample in data]
    assert [len(images) for images in shown] == [1, 2, 3, 3]
    assert [s["conversations"][0]["value"].count("<image>") for s in data] == [1, 2, 3, 3]
    assert [Path(name).stem[-4:] for name in shown[3]] == ["0002", "0003", "0004"]
    assert summary.images == 4
    for name in shown[3]:
        with Image.open(tmp_path / "out" / name) as image:
            assert image.size == Frame(*source.steps[0].screen_size, kit.BOUNDS).model_size


def test_the_recorded_prompt_decides_what_a_sample_shows(todo_run: Path, tmp_path: Path,
                                                         kit: Any) -> None:
    """A header that does not name the policy's settings: each step's recorded prompt does."""
    from qwen_gui_agent.actions.decision import HistoryEntry
    from qwen_gui_agent.actions.observation import Observation
    from qwen_gui_agent.actions.prompt import build_messages, messages_to_json
    from qwen_gui_agent.trajectories import Recorder

    source = load_trajectory(todo_run)
    header = {"task": kit.TASK, "env": "browser", "image_bounds": kit.BOUNDS, "policy": {"class": "SomePolicy"}}
    history: list[HistoryEntry] = []
    sent: list[list[dict[str, Any]]] = []
    with Recorder(tmp_path / "run", header) as recorder:
        for step in source.steps:
            observation = Observation(image=source.image(step), env="browser")
            frame = Frame(*step.screen_size, kit.BOUNDS)
            messages = build_messages(kit.TASK, observation, history, frame, history_images=1,
                                      extensions=["answer"])
            sent.append(messages_to_json(messages))
            decision = kit.scripted_decision(step.actions[0], frame, "t")
            recorder.record_step(index=step.index, observation=observation, decision=decision,
                                 outcome=None, error=None, feedback=None, timings={},
                                 prompt=sent[-1])
            history.append(HistoryEntry(actions=decision.actions, raw=decision.raw,
                                        thought=decision.thought, screen_size=step.screen_size,
                                        observation=observation))
    summary = export([tmp_path / "run"], tmp_path / "out", format="llamafactory")
    data = json.loads(summary.data_file.read_text())
    assert [len(sample["images"]) for sample in data] == [1, 2, 2, 2]
    for sample, messages in zip(data, sent):
        system, user, _ = (m["content"] for m in sample["messages"])
        assert system == messages[0]["content"][0]["text"] and "`answer`" in system
        expected = "".join("<image>" if p["type"] == "image" else p["text"]
                           for p in messages[1]["content"])
        assert user == expected
