"""Replay of a recorded browser run into fresh browser envs, matching and mismatching."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Callable

import pytest
from PIL import Image, ImageDraw

from qwen_gui_agent.actions.models import Click, Drag, Scroll, Terminate, TypeText
from qwen_gui_agent.agent.guard import Guard
from qwen_gui_agent.agent.replay import DEFAULT_THRESHOLD, replay, scale_action
from qwen_gui_agent.envs.screens import screen_similarity
from qwen_gui_agent.errors import UsageError
from qwen_gui_agent.trajectories import Recorder, load_trajectory


def test_replay_reaches_the_recorded_page_state(todo_run: Path, browser_env: Callable[..., Any],
                                                todo_server: Any, tmp_path: Path, kit: Any) -> None:
    # a HiDPI screen this time: twice the screenshot pixels, so every coordinate is scaled
    env = browser_env(url=todo_server.url("todo.html"), viewport=kit.VIEWPORT, device_scale_factor=2)
    assert kit.items(env) == []
    started = time.monotonic()
    result = replay(todo_run, env, speed=0.5, record_dir=tmp_path)
    elapsed = time.monotonic() - started
    assert result.status == "completed", result.message
    assert result.replayed == 3 and result.model_steps == 0 and result.mismatches == []
    assert kit.items(env) == [kit.ITEM]
    assert env.page.evaluate("document.getElementById('item').value") == ""
    own = load_trajectory(result.trajectory_path)
    assert own.path.parent == tmp_path and own.status == "completed"
    assert len(own.steps) == 4 and own.steps[-1].actions == []  # the final screen, nothing left to do
    assert own.header.model_extra["replay"]["source"] == str(todo_run)
    assert own.header.task == kit.TASK
    source = load_trajectory(todo_run)
    recorded_span = source.steps[2].observation.timestamp - source.steps[0].observation.timestamp
    assert elapsed >= recorded_span / 0.5  # half speed: the recorded pauses, doubled
    assert own.steps[0].screen_size == tuple(2 * v for v in source.steps[0].screen_size)
    assert [s.actions for s in own.steps[:3]] == [
        [scale_action(a, r.screen_size, s.screen_size) for a in r.actions]
        for s, r in zip(own.steps, source.steps[:3])
    ]
    assert own.steps[0].actions[0].point == tuple(2 * v for v in source.steps[0].actions[0].point)
    for step in own.steps[:3]:
        facts = step.extra["replay"]
        assert facts["matched"] and facts["similarity"] >= DEFAULT_THRESHOLD and facts["by"] == "recording"
        assert step.executed and step.outcome is not None and own.image(step) is not None


def test_a_changed_page_stops_the_replay(todo_run: Path, browser_env: Callable[..., Any],
                                         todo_server: Any, tmp_path: Path, kit: Any) -> None:
    env = browser_env(url=todo_server.url("todo_changed.html"), viewport=kit.VIEWPORT)
    result = replay(todo_run, env, speed=0, record_dir=tmp_path, mismatch_wait=0.3)
    assert result.status == "mismatch" and result.replayed == 0
    assert [m.index for m in result.mismatches] == [1]
    assert result.mismatches[0].similarity < DEFAULT_THRESHOLD
    assert "differs from recorded step 1" in (result.message or "")
    assert kit.items(env) == []  # nothing was done on the wrong page
    own = load_trajectory(result.trajectory_path)
    assert own.status == "mismatch" and len(own.steps) == 1
    assert not own.steps[0].executed and "similarity" in (own.steps[0].error or "")
    assert own.steps[0].extra["replay"] == {"source_step": 1, "matched": False,
                                            "similarity": result.mismatches[0].similarity}


def test_continue_replays_through_a_mismatch(todo_run: Path, browser_env: Callable[..., Any],
                                             todo_server: Any, tmp_path: Path, kit: Any) -> None:
    env = browser_env(url=todo_server.url("todo_changed.html"), viewport=kit.VIEWPORT)
    result = replay(todo_run, env, on_mismatch="continue", speed=0, record_dir=tmp_path,
                    mismatch_wait=0.3)
    assert result.status == "completed" and result.replayed == 3
    assert "3 screen(s) differed" in (result.message or "")
    assert [m.index for m in result.mismatches] == [1, 2, 3]
    assert kit.items(env) == [kit.ITEM]  # same controls at the same places
    own = load_trajectory(result.trajectory_path)
    assert [s.extra["replay"]["matched"] for s in own.steps[:3]] == [False] * 3


@pytest.mark.parametrize("on_mismatch", ["stop", "continue"])
def test_a_step_the_guard_refuses_is_not_reproduced(todo_run: Path, browser_env: Callable[..., Any],
                                                    todo_server: Any, tmp_path: Path, kit: Any,
                                                    on_mismatch: str) -> None:
    env = browser_env(url=todo_server.url("todo.html"), viewport=kit.VIEWPORT)
    asked: list[str] = []
    guard = Guard("always", ask=lambda action, decision: asked.append(action.type) or False)
    result = replay(todo_run, env, on_mismatch=on_mismatch, speed=0, record=False, guard=guard)
    assert result.status == "mismatch" and result.replayed == 0 and kit.items(env) == []
    refused = [n.index for n in result.not_performed]
    assert refused == ([1] if on_mismatch == "stop" else [1, 2, 3]) and len(asked) == len(refused)
    assert "could not be performed" in (result.message or "")


def test_the_model_takes_over_a_mismatching_step(todo_run: Path, browser_env: Callable[..., Any],
                                                 todo_server: Any, tmp_path: Path, kit: Any,
                                                 scripted_policy: Callable[..., Any]) -> None:
    env = browser_env(url=todo_server.url("todo_changed.html"), viewport=kit.VIEWPORT)
    observation = env.observe()
    x, y = kit.element_center(env, observation.width, "#item")
    # the real QwenPolicy on the tiny model, its output forced: an unusable answer, then two calls
    policy = scripted_policy(
        ["oops", Click(x=x, y=y), Terminate(status="success")],
        screen=observation.image.size, env="browser", thoughts=[None, "The page changed.", None],
        min_pixels=kit.MIN_PIXELS, max_pixels=kit.MAX_PIXELS,
    )
    result = replay(todo_run, env, on_mismatch="model", policy=policy, speed=0,
                    record_dir=tmp_path, mismatch_wait=0.3)
    assert result.status == "success" and result.replayed == 0
    assert result.model_steps == 3 and policy.logits_processor.used == 3  # the first answer unusable
    assert [m.index for m in result.mismatches] == [1, 2, 3]
    assert env.page.evaluate("document.activeElement.id") == "item"
    own = load_trajectory(result.trajectory_path)
    assert own.status == "success" and len(own.steps) == 3
    assert [s.extra["replay"]["by"] for s in own.steps] == ["model"] * 3
    unusable, click, final = own.steps
    assert not unusable.decided and unusable.raw == "oops" and unusable.error
    assert click.thought == "The page changed." and isinstance(click.actions[0], Click)
    assert click.executed and not final.executed
    # asked with the recorded task; the failed answer was fed back in the next prompt
    user_text = "".join(p.get("text", "") for m in click.prompt for p in m["content"])
    assert kit.TASK in user_text and "Step 1: (no action;" in user_text


def test_replay_arguments_are_checked_before_anything_runs(todo_run: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="needs a policy"):
        replay(todo_run, object(), on_mismatch="model")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="on_mismatch"):
        replay(todo_run, object(), on_mismatch="ask")  # type: ignore[arg-type]
    with pytest.raises(UsageError, match="speed"):
        replay(todo_run, object(), speed=-1)  # type: ignore[arg-type]
    with Recorder(tmp_path / "idle", {"task": "t", "env": "browser"}) as recorder:
        recorder.finish(status="failure", steps=0)
    with pytest.raises(UsageError, match="performed no action: there is nothing to replay"):
        replay(tmp_path / "idle", object())  # type: ignore[arg-type]


def test_actions_scale_to_a_different_screen_size() -> None:
    source, target = (1000, 800), (2000, 400)
    assert scale_action(Click(x=500, y=400), source, target) == Click(x=1000, y=200)
    assert scale_action(Click(x=999, y=799), source, target) == Click(x=1998, y=400 - 1)
    drag = scale_action(Drag(x=10, y=20, to_x=100, to_y=200), source, target)
    assert (drag.x, drag.y, drag.to_x, drag.to_y) == (20, 10, 200, 100)
    assert scale_action(Scroll(dy=300), source, target) == Scroll(dy=150)
    assert scale_action(TypeText(text="a"), source, target) == TypeText(text="a")


def test_similarity_ignores_noise_and_flags_a_different_screen() -> None:
    base = Image.new("RGB", (800, 600), "white")
    draw = ImageDraw.Draw(base)
    draw.rectangle((50, 50, 400, 120), fill="#2a6")
    draw.text((60, 200), "Shopping list", fill="black")
    caret = base.copy()
    ImageDraw.Draw(caret).line((420, 60, 420, 80), fill="black", width=2)
    resized = base.resize((1600, 1200))
    dialog = base.copy()
    ImageDraw.Draw(dialog).rectangle((200, 150, 600, 450), fill="#333")
    assert screen_similarity(base, base) == 1.0
    assert screen_similarity(base, caret) >= DEFAULT_THRESHOLD
    assert screen_similarity(base, resized) >= DEFAULT_THRESHOLD
    assert screen_similarity(base, dialog) < 0.8
