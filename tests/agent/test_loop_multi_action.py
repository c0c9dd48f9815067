"""Decisions holding several actions: a refusal or failure in the middle, and their replay."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from fixtures.models import script_texts

from qwen_gui_agent import Agent
from qwen_gui_agent.actions.models import Click, Terminate, TypeText
from qwen_gui_agent.agent.guard import Guard, Rules
from qwen_gui_agent.agent.replay import replay
from qwen_gui_agent.trajectories import load_trajectory

SCREEN = (800, 600)
COUNT_CLICKS = "window.__clicks = 0; document.addEventListener('click', () => window.__clicks++)"


def one_decision(*actions: Any) -> str:
    """One model output holding a tool call per action."""
    return "\n".join(script_texts(actions, screen=SCREEN, env="browser"))


def test_a_declined_action_mid_decision_stops_it_and_replay_honours_that(
        open_page: Callable[[str], Any], scripted_policy: Any, tmp_path: Path) -> None:
    env = open_page("static.html")
    env.page.evaluate(COUNT_CLICKS)
    plan = [one_decision(Click(x=100, y=500), TypeText(text="oops"), Click(x=200, y=500)),
            Terminate(status="success")]
    asked: list[str] = []
    guard = Guard("sensitive", ask=lambda action, decision: asked.append(action.type) or False,
                  rules=Rules(ask_types=frozenset({"type"}), ask_words=(),
                              ask_terminate_success=False))
    policy = scripted_policy(plan, screen=SCREEN, env="browser")
    result = Agent(policy, env, guard=guard, record_dir=tmp_path).run("Click twice")

    assert result.status == "success" and asked == ["type"]
    first = result.steps[0]
    assert len(first.actions) == 3 and len(first.outcomes) == 1 and first.executed
    assert env.page.evaluate("window.__clicks") == 1  # nothing after the declined action ran
    recorded = load_trajectory(result.trajectory_path)
    assert recorded.steps[0].extra["performed"] == 1

    env = open_page("static.html")
    env.page.evaluate(COUNT_CLICKS)
    replayed = replay(result.trajectory_path, env, speed=0, record=False, mismatch_wait=0)
    assert replayed.status == "completed", replayed.message
    assert env.page.evaluate("window.__clicks") == 1  # the declined part is not replayed either


def test_a_final_action_after_env_actions_ends_the_run_after_them(
        open_page: Callable[[str], Any], scripted_policy: Any, tmp_path: Path) -> None:
    env = open_page("static.html")
    env.page.evaluate(COUNT_CLICKS)
    plan = [one_decision(Click(x=100, y=500), Terminate(status="success"))]
    result = Agent(scripted_policy(plan, screen=SCREEN, env="browser"), env,
                   record_dir=tmp_path).run("Click then stop")
    assert result.status == "success" and env.page.evaluate("window.__clicks") == 1
    assert "performed" not in load_trajectory(result.trajectory_path).steps[0].extra
