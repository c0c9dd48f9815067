"""Bad arguments to Agent fail at construction with a typed error, before anything runs."""

from __future__ import annotations

from typing import Any

import pytest

from qwen_gui_agent import Agent
from qwen_gui_agent.errors import UsageError


class _Policy:
    def decide(self, task: str, observation: Any, history: Any) -> Any:
        raise AssertionError("never called")


class _Env:
    kind = "browser"

    def observe(self, settle: bool = False) -> Any:
        raise AssertionError("never called")

    def execute(self, action: Any) -> Any:
        raise AssertionError("never called")


@pytest.mark.parametrize("policy, env, options, error, words", [
    (object(), _Env(), {}, UsageError, "decide"),
    (_Policy(), object(), {}, UsageError, "observe"),
    (_Policy(), _Env(), {"max_steps": 0}, ValueError, "max_steps"),
    (_Policy(), _Env(), {"max_consecutive_errors": 0}, ValueError, "max_consecutive_errors"),
    (_Policy(), _Env(), {"history_images": -1}, ValueError, "history_images"),
    (_Policy(), _Env(), {"stuck_limit": 1}, ValueError, "stuck limit"),
])
def test_bad_arguments_raise(policy: Any, env: Any, options: dict[str, Any], error: type,
                             words: str) -> None:
    with pytest.raises(error, match=words):
        Agent(policy, env, **options)


def test_a_run_needs_a_task_and_steps_need_a_run() -> None:
    agent = Agent(_Policy(), _Env())
    assert agent.done and agent.result is None
    with pytest.raises(UsageError, match="start"):
        agent.step()
    with pytest.raises(UsageError, match="no run"):
        agent.finish()
    with pytest.raises(ValueError, match="empty"):
        agent.start("  ")


def test_history_images_follows_the_policy_unless_given() -> None:
    policy = _Policy()
    policy.history_images = 2  # type: ignore[attr-defined]
    assert Agent(policy, _Env()).history_images == 2
    assert Agent(policy, _Env(), history_images=0).history_images == 0
