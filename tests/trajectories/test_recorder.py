"""Recording and reading back: the format, redaction, crash safety, bad input."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any, Callable

import pytest
from PIL import Image

from qwen_gui_agent.actions.frame import Frame
from qwen_gui_agent.actions.models import Navigate, TypeText
from qwen_gui_agent.actions.observation import Observation, Outcome
from qwen_gui_agent.trajectories import (
    FORMAT_VERSION,
    Recorder,
    RecorderError,
    TrajectoryError,
    load_trajectory,
    new_run_dir,
)
from qwen_gui_agent.trajectories.format import TRAJECTORY_FILE


def test_a_recorded_browser_run_reads_back_typed(todo_run: Path, kit: Any) -> None:
    run = load_trajectory(todo_run)
    assert run.status == "success" and not run.torn
    assert run.header.format_version == FORMAT_VERSION and run.header.task == kit.TASK
    assert run.header.env == "browser" and run.header.versions["format"] == str(FORMAT_VERSION)
    assert [s.index for s in run.steps] == [1, 2, 3, 4]
    kinds = [type(s.actions[0]).__name__ for s in run.steps]
    assert kinds == ["Click", "TypeText", "Click", "Terminate"]
    assert run.steps[1].actions[0] == TypeText(text=kit.ITEM)
    assert [s.executed for s in run.steps] == [True, True, True, False]
    for step in run.steps:
        width, height = step.screen_size
        frame = Frame(width, height, run.header.image_bounds)
        assert tuple(step.model_size) == frame.model_size != (width, height)
        assert step.model_calls[0]["name"] == "computer_use"
        image = run.image(step)
        assert image is not None and image.size == (width, height)
        assert step.observation.url.endswith("/todo.html") and step.observation.title == "Todo"
        assert step.prompt_tokens == 1234 and step.model_timings["generate"] == 0.5
    click = run.steps[0]
    x, y = click.actions[0].point
    assert click.model_calls[0]["arguments"]["coordinate"] == list(
        Frame(*click.screen_size, run.header.image_bounds).to_model(x, y)
    )
    assert run.steps[2].outcome is not None and run.steps[2].outcome.duration_s >= 0
    assert run.summary is not None and run.summary.steps == 4


def test_every_string_on_disk_goes_through_redact(browser_env: Callable[..., Any],
                                                   todo_server: Any, tmp_path: Path, kit: Any) -> None:
    secret = "hunter2-s3cret"
    env = browser_env(url=todo_server.url(f"todo.html?token={secret}"), viewport=kit.VIEWPORT)
    observation = env.observe()
    observation.extra["note"] = f"saw {secret}"
    frame = Frame(observation.width, observation.height)
    redact = lambda text: text.replace(secret, "<redacted:pw>")  # noqa: E731
    header = {"task": f"log in with {secret}", "env": "browser", "policy": {"key": secret}}
    with Recorder(new_run_dir(tmp_path), header, redact=redact) as recorder:
        recorder.record_step(
            index=1, observation=observation,
            decision=kit.scripted_decision(TypeText(text=f"pw {secret}"), frame, f"I type {secret}"),
            outcome=Outcome(0.1, {"typed": secret}), error=f"echo {secret}",
            feedback=f"told {secret}", timings={"decide": 1.0},
        )
        recorder.record_step(
            index=2, observation=observation, decision=None, outcome=None,
            error=f"unparsable: {secret}", feedback=None, timings={}, executed=False,
            raw=f"garbage {secret}", prompt=[{"role": "user", "content": [
                {"type": "text", "text": f"task {secret}"}, {"type": "image", "image": observation.image}]}],
        )
        recorder.record_step(
            index=3, observation=observation,
            decision=kit.scripted_decision(Navigate(url=f"http://127.0.0.1/?t={secret}"), frame, "go"),
            outcome=None, error=None, feedback=None, timings={}, executed=False,
        )
        recorder.finish(status="failure", answer=f"it is {secret}", message=secret, steps=3)
    text = (recorder.path / TRAJECTORY_FILE).read_text(encoding="utf-8")
    assert secret not in text
    assert text.count("<redacted:pw>") >= 12
    run = load_trajectory(recorder.path)
    assert run.steps[0].actions == [TypeText(text="pw <redacted:pw>")]
    assert run.steps[1].raw == "garbage <redacted:pw>" and not run.steps[1].decided
    assert run.steps[1].prompt[0]["content"][1]["image"] == "screenshots/step_0002.png"
    assert run.steps[2].actions[0].url == "http://127.0.0.1/?t=<redacted:pw>"


_KILLED_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from PIL import Image, ImageDraw
    from qwen_gui_agent.actions.models import Click
    from qwen_gui_agent.actions.observation import Observation, Outcome
    from qwen_gui_agent.actions.decision import Decision
    from qwen_gui_agent.trajectories import Recorder

    recorder = Recorder(Path(sys.argv[1]), {"task": "endless", "env": "desktop"}, queue_size=64)
    for index in range(1, 10_000):
        image = Image.effect_noise((1600, 1000), 64 + index % 64).convert("RGB")
        ImageDraw.Draw(image).text((10, 10), f"step {index}", fill="red")
        recorder.record_step(index=index, observation=Observation(image=image, env="desktop"),
                             decision=Decision(actions=(Click(x=index % 1600, y=5),), raw="r"),
                             outcome=Outcome(0.0), error=None, feedback=None, timings={})
        print(index, flush=True)
        time.sleep(0.05)  # a model's think time; PNG encoding overlaps it
""")


def test_a_killed_recorder_leaves_a_readable_trajectory(tmp_path: Path) -> None:
    run_dir = tmp_path / "killed"
    writer = subprocess.Popen([sys.executable, "-c", _KILLED_WRITER, str(run_dir)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert writer.stdout is not None
        for line in writer.stdout:
            if int(line) >= 4 and list((run_dir / "screenshots").glob("*.png")):
                break
        writer.send_signal(signal.SIGKILL)
    finally:
        writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    file = run_dir / TRAJECTORY_FILE
    before = load_trajectory(run_dir)
    assert before.status == "incomplete" and before.summary is None
    assert len(before.steps) >= 4
    assert [s.index for s in before.steps] == list(range(1, len(before.steps) + 1))
    # A kill in the middle of a write leaves a torn last line: the reader drops it.
    with open(file, "a", encoding="utf-8") as handle:
        handle.write('{"type":"step","index":9999,"observation":{"env":"desk')
    after = load_trajectory(run_dir)
    assert after.torn and [s.index for s in after.steps] == [s.index for s in before.steps]
    present = [s for s in after.steps if after.screenshot_path(s) is not None]
    assert len(present) >= 1
    for step in present:  # a screenshot is there completely or not at all
        with Image.open(after.screenshot_path(step)) as image:
            image.load()
            assert image.size == (1600, 1000)
    for step in after.steps:
        if after.screenshot_path(step) is None:
            assert after.image(step) is None


def test_screenshots_are_encoded_off_the_calling_thread(tmp_path: Path) -> None:
    """record_step returns with the line durable; the PNG appears once close() returns."""
    image = Image.effect_noise((1200, 800), 80).convert("RGB")
    header = {"task": "t", "env": "desktop", "env_options": {"downloads": tmp_path / "dl"}}
    with Recorder(tmp_path / "run", header) as recorder:
        assert recorder.header.env_options == {"downloads": str(tmp_path / "dl")}
        written = recorder.record_step(
            index=7, observation=Observation(image=image, env="desktop"), decision=None,
            outcome=None, error="no model", feedback=None, timings={}, executed=False,
        )
        assert written.screenshot == "screenshots/step_0007.png"
        assert len((recorder.path / TRAJECTORY_FILE).read_text().splitlines()) == 2
    with Image.open(tmp_path / "run" / "screenshots" / "step_0007.png") as png:
        assert png.size == image.size and png.convert("RGB").tobytes() == image.tobytes()
    assert not list((tmp_path / "run" / "screenshots").glob("*.part"))


def test_new_run_dirs_are_unique_and_sort_by_time(tmp_path: Path) -> None:
    made = [new_run_dir(tmp_path, "my task: a/b") for _ in range(5)]
    assert len(set(made)) == 5 and all(p.is_dir() for p in made)
    assert made == sorted(made, key=lambda p: p.name)
    assert all(p.parent == tmp_path and "/" not in p.name[16:] for p in made)
    assert made[0].name.endswith("my-task-a-b")


def test_recorder_refuses_misuse_with_typed_errors(tmp_path: Path) -> None:
    observation = Observation(image=Image.new("RGB", (64, 48), "white"), env="desktop")
    step = dict(index=1, observation=observation, decision=None, outcome=None, error="x",
                feedback=None, timings={})
    with Recorder(tmp_path / "run", {"task": "t", "env": "desktop"}) as recorder:
        recorder.record_step(**step)
        recorder.finish(status="success", steps=1)
        with pytest.raises(RecorderError, match="finished"):
            recorder.record_step(**step)
    with pytest.raises(RecorderError, match="closed"):
        recorder.record_step(**step)
    with pytest.raises(RecorderError, match="already exists"):
        Recorder(tmp_path / "run", {"task": "t", "env": "desktop"})
    with pytest.raises(ValueError, match="task"):
        Recorder(tmp_path / "other", {"env": "desktop"})
    assert not (tmp_path / "other").exists()  # a refused header leaves nothing behind
    assert load_trajectory(tmp_path / "run").status == "success"


def _write_lines(path: Path, lines: list[Any]) -> Path:
    path.mkdir()
    (path / TRAJECTORY_FILE).write_text(
        "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
    )
    return path


def test_reader_rejects_damage_it_cannot_explain(tmp_path: Path) -> None:
    header = {"type": "header", "task": "t", "env": "desktop"}
    step = {"type": "step", "index": 1, "observation": {"env": "desktop", "timestamp": 1.0,
                                                         "width": 10, "height": 10}}
    summary = {"type": "summary", "status": "success", "steps": 1}
    ok = load_trajectory(_write_lines(tmp_path / "ok", [header, step, summary]))
    assert ok.status == "success" and ok.steps[0].screenshot is None and ok.image(ok.steps[0]) is None
    with pytest.raises(TrajectoryError, match=r":2: not a valid trajectory line"):
        load_trajectory(_write_lines(tmp_path / "middle", [header, "{broken", step, summary]))
    with pytest.raises(TrajectoryError, match="newer than this reader"):
        load_trajectory(_write_lines(tmp_path / "newer", [{**header, "format_version": 99}]))
    reshaped = {"type": "header", "format_version": FORMAT_VERSION + 1, "run": {"task": "t"}}  # no task, env
    with pytest.raises(TrajectoryError, match="newer than this reader"):
        load_trajectory(_write_lines(tmp_path / "reshaped", [reshaped]))
    with pytest.raises(TrajectoryError, match="first line must be the header"):
        load_trajectory(_write_lines(tmp_path / "headless", [step]))
    with pytest.raises(TrajectoryError, match="unexpected step line"):
        load_trajectory(_write_lines(tmp_path / "after", [header, summary, step]))
    bad_action = {**step, "actions": [{"type": "click", "x": -5, "y": 1}]}
    with pytest.raises(TrajectoryError, match=":2:"):
        load_trajectory(_write_lines(tmp_path / "action", [header, bad_action]))
    with pytest.raises(TrajectoryError, match="no trajectory"):
        load_trajectory(tmp_path / "nowhere")
    future = {**step, "new_field": {"kept": True}}
    kept = load_trajectory(_write_lines(tmp_path / "future", [header, future]))
    assert kept.steps[0].model_extra == {"new_field": {"kept": True}} and kept.status == "incomplete"


def test_unknown_objects_in_the_prompt_are_kept_as_text(tmp_path: Path) -> None:
    observation = Observation(image=Image.new("RGB", (32, 32)), env="desktop")
    other = Image.new("RGB", (8, 6))
    with Recorder(tmp_path / "r", {"task": "t", "env": "desktop"}) as recorder:
        record = recorder.record_step(
            index=1, observation=observation, decision=None, outcome=None, error=None,
            feedback=None, timings={}, prompt={"past": other, "when": time, "n": (1, 2)},
        )
    assert record.prompt["past"] == "image:8x6" and record.prompt["n"] == [1, 2]
    assert record.prompt["when"].startswith("<module 'time'")
    assert os.path.getsize(tmp_path / "r" / "screenshots" / "step_0001.png") > 0


def test_importing_the_package_stays_light() -> None:
    code = ("import sys, qwen_gui_agent.trajectories as t; t.load_trajectory; t.export; t.write_report; "
            "print(sorted(m for m in ('torch', 'transformers', 'PIL', 'playwright', 'pyautogui', "
            "'mss', 'adbutils') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_reader_reads_what_a_kill_can_leave_behind(tmp_path: Path) -> None:
    header = {"type": "header", "task": "écrire «bonjour» 你好", "env": "desktop"}
    step = {"type": "step", "index": 1, "thought": "你好", "observation": {
        "env": "desktop", "timestamp": 1.0, "width": 10, "height": 10}}
    only_header = load_trajectory(_write_lines(tmp_path / "header", [header]))
    assert only_header.steps == [] and only_header.status == "incomplete" and not only_header.torn
    run = _write_lines(tmp_path / "cut", [header, step])
    file = run / TRAJECTORY_FILE
    whole = file.read_bytes()
    cut = whole + json.dumps({**step, "index": 2}, ensure_ascii=False).encode()[:-10]
    cut = cut[: cut.rindex("你".encode()) + 1]  # ends inside a 3-byte UTF-8 sequence
    file.write_bytes(cut)
    torn = load_trajectory(run)
    assert torn.torn and [s.index for s in torn.steps] == [1] and torn.steps[0].thought == "你好"
    assert torn.task == header["task"] and torn.screenshot_path(torn.steps[0]) is None
    file.write_bytes(b"")
    with pytest.raises(TrajectoryError, match="empty or headerless"):
        load_trajectory(run)
