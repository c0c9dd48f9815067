"""The whole loop on a real headless Chromium with the tiny model forced to a plan.

Each test scripts the model's tool calls, lets :class:`Agent` run them, and checks
the page (what the run really did) and the trajectory (what it recorded).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from qwen_gui_agent import Agent, RunResult
from qwen_gui_agent.actions import Frame
from qwen_gui_agent.actions.models import (
    Answer,
    Click,
    Navigate,
    OpenApp,
    Terminate,
    TypeText,
    Wait,
)
from qwen_gui_agent.actions.parser import parse_response
from qwen_gui_agent.agent import Guard, Rules, Secrets, StepResult
from qwen_gui_agent.agent.stuck import same_actions
from qwen_gui_agent.errors import ParseError
from qwen_gui_agent.trajectories import load_trajectory

SCREEN = (800, 600)


def _submitted(env: Any) -> dict[str, str] | None:
    return env.page.evaluate("window.__submitted || null")


def test_a_scripted_run_fills_the_form_and_records_every_step(
        open_page: Callable[[str], Any], center_of: Any, scripted_policy: Any, tmp_path: Path) -> None:
    env = open_page("form.html")
    name, submit = center_of(env, "#name"), center_of(env, "#submit")
    plan = [Click(x=name[0], y=name[1]), TypeText(text="Ada Lovelace"),
            Click(x=submit[0], y=submit[1]), Terminate(status="success")]
    policy = scripted_policy(plan, screen=SCREEN, env="browser",
                             thoughts=["Focus the name field", None, "Submit it", "Done"])
    seen: list[StepResult] = []
    agent = Agent(policy, env, record_dir=tmp_path, on_step=seen.append, run_label="form")

    result = agent.run("Enter the name Ada Lovelace and submit the form")

    assert isinstance(result, RunResult)
    assert (result.status, result.answer) == ("success", None)
    env.page.wait_for_url("**/result.html*")
    assert _submitted(env) == {"name": "Ada Lovelace", "email": "", "color": "red"}
    assert [s.index for s in seen] == [1, 2, 3, 4] and seen == result.steps
    assert [s.executed for s in seen] == [True, True, True, False]
    assert all(same_actions(s.actions, [a], tolerance_px=2) for s, a in zip(seen, plan))
    assert seen[-1].status == "success" and not any(s.status for s in seen[:-1])
    assert all(s.timings["decide"] > 0 and s.timings["observe"] > 0 for s in seen)

    run_dir = result.trajectory_path
    assert run_dir is not None and run_dir.parent == tmp_path and run_dir.name.endswith("form")
    trajectory = load_trajectory(run_dir)
    assert trajectory.status == "success" and trajectory.summary.steps == 4
    assert trajectory.header.env == "browser" and trajectory.header.tool_name == "computer_use"
    assert trajectory.header.task == "Enter the name Ada Lovelace and submit the form"
    assert trajectory.header.policy["class"].endswith("QwenPolicy")
    assert [s.actions for s in trajectory.steps] == [list(s.actions) for s in seen]
    assert [s.thought for s in trajectory.steps][0] == "Focus the name field"
    assert trajectory.steps[0].observation.url.endswith("form.html")
    assert trajectory.steps[0].observation.title == "Form"
    assert all(s.prompt for s in trajectory.steps)  # the messages as sent
    assert all(trajectory.image(s).size == SCREEN for s in trajectory.steps)


def test_a_secret_reaches_the_page_but_no_file_and_no_prompt(
        open_page: Callable[[str], Any], center_of: Any, scripted_policy: Any, tmp_path: Path,
        grep_tree: Any) -> None:
    value = "c0rrect horse&battery!"
    env = open_page("form.html")
    name, submit = center_of(env, "#name"), center_of(env, "#submit")
    plan = [Click(x=name[0], y=name[1]), TypeText(text="{PASSWORD}"),
            Click(x=submit[0], y=submit[1]), Wait(seconds=0.5), Answer(text="typed " + value)]
    policy = scripted_policy(plan, screen=SCREEN, env="browser")
    agent = Agent(policy, env, record_dir=tmp_path, secrets=Secrets({"PASSWORD": value}),
                  settle=True)

    result = agent.run(f"Type the password {{PASSWORD}} (it is {value}) and submit")

    assert result.status == "success"
    assert _submitted(env)["name"] == value  # the real value was typed
    assert result.answer == "typed {PASSWORD}"
    assert result.steps[-1].raw.endswith("typed {PASSWORD}\"}}\n</tool_call>")  # the model's text
    prompts = json.dumps([s.decision.prompt for s in result.steps])
    assert "{PASSWORD}" in prompts and value not in prompts
    assert "{PASSWORD}" in agent.model_task and value not in agent.model_task
    assert not grep_tree(result.trajectory_path, value)
    assert not grep_tree(result.trajectory_path, "c0rrect+horse%26battery%21")  # the URL form
    trajectory = load_trajectory(result.trajectory_path)
    assert trajectory.steps[1].actions == [TypeText(text="{PASSWORD}")]
    assert "{PASSWORD}" in trajectory.steps[4].observation.url  # the result page's GET URL
    assert trajectory.header.model_extra["agent"]["secrets"] == ["PASSWORD"]


def test_dry_run_decides_and_records_but_touches_nothing(
        open_page: Callable[[str], Any], center_of: Any, scripted_policy: Any, tmp_path: Path) -> None:
    env = open_page("form.html")
    name, submit = center_of(env, "#name"), center_of(env, "#submit")
    plan = [Click(x=name[0], y=name[1]), TypeText(text="nobody"), Click(x=submit[0], y=submit[1])]
    agent = Agent(scripted_policy(plan, screen=SCREEN, env="browser"), env,
                  record_dir=tmp_path, dry_run=True, max_steps=3)

    result = agent.run("Enter nobody and submit")

    assert result.status == "max_steps" and "3" in result.message
    assert env.page.url.endswith("form.html") and env.page.input_value("#name") == ""
    assert [s.executed for s in result.steps] == [False] * 3
    assert all(not s.outcomes for s in result.steps)
    trajectory = load_trajectory(result.trajectory_path)
    assert [s.executed for s in trajectory.steps] == [False] * 3
    assert [s.actions[0].type for s in trajectory.steps] == ["click", "type", "click"]
    assert trajectory.header.model_extra["agent"]["dry_run"] is True


def test_step_mode_asks_for_each_action_and_a_refusal_is_fed_back(
        open_page: Callable[[str], Any], center_of: Any, scripted_policy: Any, tmp_path: Path) -> None:
    env = open_page("form.html")
    name = center_of(env, "#name")
    plan = [Click(x=name[0], y=name[1]), TypeText(text="refused"), Terminate(status="success")]
    asked: list[Any] = []

    def ask(action: Any, decision: Any) -> bool:
        asked.append(action)
        return action.type != "type"

    agent = Agent(scripted_policy(plan, screen=SCREEN, env="browser"), env,
                  record_dir=tmp_path, guard=Guard("always", ask=ask))
    result = agent.run("Type refused into the name field")

    assert result.status == "success"
    assert [a.type for a in asked] == ["click", "type", "terminate"]
    assert env.page.input_value("#name") == ""  # the declined typing never happened
    typed = result.steps[1]
    assert not typed.executed and typed.verdicts[0].asked and not typed.verdicts[0].allowed
    assert "declined" in typed.feedback
    assert "declined" in json.dumps(result.steps[2].decision.prompt)  # the model was told
    record = load_trajectory(result.trajectory_path).steps[1]
    assert not record.executed and "declined" in record.feedback
    assert record.extra["guard"] == [{"kind": "ask", "allowed": False, "asked": True,
                                      "reason": "step mode asks before every action"}]


def test_sensitive_mode_asks_only_for_sensitive_actions(
        open_page: Callable[[str], Any], center_of: Any, scripted_policy: Any) -> None:
    env = open_page("form.html")
    name = center_of(env, "#name")
    plan = [Click(x=name[0], y=name[1]), TypeText(text="Grace"), Terminate(status="success"),
            Terminate(status="failure")]
    asked: list[Any] = []

    def ask(action: Any, decision: Any) -> bool:
        asked.append(action)
        return action.type == "type"  # accept the typing, refuse the claimed success

    agent = Agent(scripted_policy(plan, screen=SCREEN, env="browser"), env,
                  guard=Guard("sensitive", ask=ask))
    result = agent.run("Type Grace")

    assert [a.type for a in asked] == ["type", "terminate"]
    assert env.page.input_value("#name") == "Grace"
    assert result.status == "failure" and result.steps[2].feedback
    assert "the agent reports the task as done" in result.steps[2].verdicts[0].reason


def test_a_deny_rule_blocks_an_action_in_any_mode(
        open_page: Callable[[str], Any], scripted_policy: Any) -> None:
    env = open_page("static.html")
    plan = [Navigate(url="http://evil.example/"), Terminate(status="failure")]
    agent = Agent(scripted_policy(plan, screen=SCREEN, env="browser"), env,
                  guard=Guard(rules=Rules(deny_words=("evil",))))
    result = agent.run("Go somewhere")

    assert env.page.url.endswith("static.html")
    assert result.steps[0].verdicts[0].kind == "deny" and not result.steps[0].executed
    assert "blocked" in json.dumps(result.steps[1].decision.prompt)
    assert result.status == "failure"


def test_unparsable_output_is_fed_back_then_the_run_goes_on(
        open_page: Callable[[str], Any], scripted_policy: Any, tmp_path: Path) -> None:
    env = open_page("static.html")
    garbage = ["I think I should click", "<tool_call>{oops</tool_call>"]
    policy = scripted_policy([*garbage, Terminate(status="success")], screen=SCREEN, env="browser")
    result = Agent(policy, env, record_dir=tmp_path).run("Do nothing")

    assert result.status == "success"
    first, second, third = result.steps
    for step, text in zip((first, second), garbage):
        with pytest.raises(ParseError) as parsed:  # what the parser says about this text
            parse_response(text, Frame(*SCREEN), tool_name="computer_use")
        assert step.decision is None and step.raw == text
        assert step.feedback == f"Unusable output: {parsed.value}"
    user_text = "".join(part.get("text", "") for part in third.decision.prompt[1]["content"])

    def words(text: str) -> str:  # the history is one line per step: newlines are folded
        return " ".join(text.split())

    assert words(first.feedback) in words(user_text)  # both fed back
    assert words(second.feedback) in words(user_text)
    records = load_trajectory(result.trajectory_path).steps
    assert [r.decided for r in records] == [False, False, True]
    assert [r.raw for r in records[:2]] == garbage and records[0].error == first.feedback


def test_too_many_unusable_outputs_in_a_row_fail_the_run(
        open_page: Callable[[str], Any], scripted_policy: Any) -> None:
    env = open_page("static.html")
    policy = scripted_policy(["nope", "nope again", "still nope", Terminate(status="success")],
                             screen=SCREEN, env="browser")
    result = Agent(policy, env, max_consecutive_errors=3).run("Do nothing")

    assert result.status == "error"  # the policy never said the task failed
    assert "3 unusable steps in a row" in result.message
    assert policy.logits_processor.used == 3  # the fourth output was never asked for


def test_an_action_the_env_cannot_do_is_fed_back(
        open_page: Callable[[str], Any], scripted_policy: Any) -> None:
    env = open_page("static.html")
    policy = scripted_policy([OpenApp(name="Calculator"), Terminate(status="failure")],
                             screen=SCREEN, env="browser")
    result = Agent(policy, env).run("Open the calculator")

    unsupported = result.steps[0]
    assert not unsupported.executed and "cannot perform 'open_app'" in unsupported.error
    assert "cannot perform 'open_app'" in json.dumps(result.steps[1].decision.prompt)
    assert result.status == "failure"


def test_past_screenshots_reach_the_policy_when_it_asks_for_them(
        open_page: Callable[[str], Any], scripted_policy: Any) -> None:
    env = open_page("static.html")
    plan = [Click(x=10, y=10), Click(x=20, y=20), Terminate(status="success")]
    policy = scripted_policy(plan, screen=SCREEN, env="browser", history_images=1)
    agent = Agent(policy, env)
    result = agent.run("Click twice")

    images = [[p for p in s.decision.prompt[1]["content"] if p["type"] == "image"]
              for s in result.steps]
    assert [len(i) for i in images] == [1, 2, 2]  # the current screen plus the last one
    assert [h.observation is not None for h in agent.history] == [False, False, True]
