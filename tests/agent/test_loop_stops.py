"""How runs end: stuck loops, Ctrl-C, a dead browser, a crashing policy, a script's own stop."""

from __future__ import annotations

import os
import signal
from pathlib import Path
from typing import Any, Callable

import pytest

from qwen_gui_agent import Agent
from qwen_gui_agent.actions.models import Click, Terminate
from qwen_gui_agent.errors import UsageError
from qwen_gui_agent.trajectories import load_trajectory

SCREEN = (800, 600)
COUNT_CLICKS = "window.__clicks = 0; document.addEventListener('click', () => window.__clicks++)"


class FailingOn:
    """A user policy wrapper that raises ``error`` on decision number ``call``."""

    def __init__(self, inner: Any, call: int, error: BaseException) -> None:
        self.inner, self.call, self.error, self.calls = inner, call, error, 0

    def decide(self, task: str, observation: Any, history: Any) -> Any:
        self.calls += 1
        if self.calls == self.call:
            raise self.error
        return self.inner.decide(task, observation, history)


def test_the_same_action_on_an_unchanged_screen_gets_a_hint_then_ends_stuck(
        open_page: Callable[[str], Any], scripted_policy: Any, tmp_path: Path) -> None:
    env = open_page("static.html")
    env.page.evaluate(COUNT_CLICKS)
    policy = scripted_policy([Click(x=400, y=500)] * 4, screen=SCREEN, env="browser")
    result = Agent(policy, env, record_dir=tmp_path, stuck_limit=3).run("Click the void")

    assert result.status == "stuck" and "chosen 4 times" in result.message
    assert [s.executed for s in result.steps] == [True, True, False, False]
    assert env.page.evaluate("window.__clicks") == 2  # the hinted and the stuck step did nothing
    assert "did not change" in result.steps[2].feedback
    assert "did not change" in str(result.steps[3].decision.prompt)  # the model saw the hint
    assert load_trajectory(result.trajectory_path).status == "stuck"


def test_a_different_action_after_the_hint_keeps_the_run_going(
        open_page: Callable[[str], Any], scripted_policy: Any) -> None:
    env = open_page("static.html")
    plan = [Click(x=400, y=500)] * 3 + [Click(x=100, y=500), Terminate(status="success")]
    result = Agent(scripted_policy(plan, screen=SCREEN, env="browser"), env).run("Click")
    assert result.status == "success" and len(result.steps) == 5


def test_ctrl_c_during_a_run_ends_it_as_interrupted_with_a_readable_trajectory(
        open_page: Callable[[str], Any], scripted_policy: Any, tmp_path: Path) -> None:
    env = open_page("static.html")
    plan = [Click(x=100 * i, y=300) for i in range(1, 6)]

    def press_ctrl_c(step: Any) -> None:
        if step.index == 2:
            signal.raise_signal(signal.SIGINT)  # the real signal, turned into KeyboardInterrupt

    result = Agent(scripted_policy(plan, screen=SCREEN, env="browser"), env,
                   record_dir=tmp_path, on_step=press_ctrl_c).run("Click along a line")

    assert result.status == "interrupted" and "Ctrl-C" in result.message
    assert len(result.steps) == 2
    trajectory = load_trajectory(result.trajectory_path)
    assert trajectory.status == "interrupted" and len(trajectory.steps) == 2
    assert trajectory.summary.steps == 2


def test_step_reraises_ctrl_c_after_finalising_the_run(
        open_page: Callable[[str], Any], scripted_policy: Any, tmp_path: Path) -> None:
    env = open_page("static.html")
    inner = scripted_policy([Click(x=10, y=10)], screen=SCREEN, env="browser")
    agent = Agent(FailingOn(inner, 2, KeyboardInterrupt()), env, record_dir=tmp_path)
    agent.start("Click twice")
    agent.step()
    with pytest.raises(KeyboardInterrupt):
        agent.step()

    assert agent.done and agent.result.status == "interrupted"
    trajectory = load_trajectory(agent.result.trajectory_path)
    assert trajectory.status == "interrupted"
    assert [s.decided for s in trajectory.steps] == [True, False]  # the cut step is kept too
    assert "interrupted" in trajectory.steps[1].error
    with pytest.raises(UsageError, match="has ended"):
        agent.step()


def test_a_browser_killed_under_the_agent_ends_the_run_as_error(
        browser_env: Callable[..., Any], scripted_policy: Any, tmp_path: Path) -> None:
    env = browser_env(url="static.html", viewport=SCREEN)
    plan = [Click(x=10, y=10), Click(x=20, y=20)]

    def kill_browser(step: Any) -> None:
        os.kill(env.browser_pid, signal.SIGKILL)

    result = Agent(scripted_policy(plan, screen=SCREEN, env="browser"), env,
                   record_dir=tmp_path, on_step=kill_browser).run("Click twice")

    assert result.status == "error"
    assert "the env failed while observing" in result.message
    assert len(result.steps) == 2 and result.steps[1].decision is None
    trajectory = load_trajectory(result.trajectory_path)
    assert trajectory.status == "error" and len(trajectory.steps) == 1
    assert "env failed" in trajectory.summary.message


def test_an_unexpected_exception_ends_the_run_as_error_with_its_traceback(
        open_page: Callable[[str], Any], scripted_policy: Any, tmp_path: Path) -> None:
    env = open_page("static.html")
    inner = scripted_policy([Click(x=10, y=10)], screen=SCREEN, env="browser")
    result = Agent(FailingOn(inner, 2, RuntimeError("boom")), env, record_dir=tmp_path).run("Go")

    assert result.status == "error"
    assert "unexpected RuntimeError: boom" in result.message
    assert "test_loop_stops.py" in result.message and "in decide" in result.message
    trajectory = load_trajectory(result.trajectory_path)
    assert trajectory.status == "error" and len(trajectory.steps) == 2
    assert "boom" in trajectory.steps[1].error


def test_a_script_drives_steps_itself_and_ends_the_run(
        open_page: Callable[[str], Any], scripted_policy: Any, tmp_path: Path) -> None:
    env = open_page("static.html")
    env.page.evaluate(COUNT_CLICKS)
    policy = scripted_policy([Click(x=50, y=50), Click(x=60, y=60), Click(x=70, y=70)],
                             screen=SCREEN, env="browser")
    agent = Agent(policy, env, record_dir=tmp_path, settle=True)
    agent.start("Click a few times")
    first = agent.step()
    second = agent.step()
    assert not agent.done and (first.index, second.index) == (1, 2)
    assert second.observation.extra["settled"] is True
    assert first.observation is None  # only the latest step holds a screenshot
    result = agent.finish("success", "the script saw enough")

    assert result.status == "success" and result.message == "the script saw enough"
    assert env.page.evaluate("window.__clicks") == 2
    trajectory = load_trajectory(result.trajectory_path)
    assert trajectory.status == "success" and len(trajectory.steps) == 2
    assert trajectory.steps[0].observation.extra["settled"] is True
    assert agent.finish() is result

    # The same agent runs again into a new trajectory.
    agent.start("Once more")
    assert agent.step().index == 1
    again = agent.finish()
    assert again.status == "interrupted" and again.trajectory_path != result.trajectory_path


def test_a_failing_callback_ends_the_run_as_error_and_is_never_hidden(
        open_page: Callable[[str], Any], scripted_policy: Any) -> None:
    env = open_page("static.html")

    def buggy(step: Any) -> None:
        raise ValueError(f"callback bug at step {step.index}")

    policy = scripted_policy([Click(x=10, y=10), Terminate(status="success")],
                             screen=SCREEN, env="browser")
    during = Agent(policy, env, on_step=buggy).run("Click")
    assert during.status == "error" and "callback bug at step 1" in during.message

    policy = scripted_policy([Terminate(status="success")], screen=SCREEN, env="browser")
    after = Agent(policy, env, on_step=buggy).run("Finish")
    assert after.status == "success"  # the run had ended; the bug is still reported
    assert "on_step then raised" in after.message and "callback bug at step 1" in after.message


class RaisingEnv:
    """The real env, except that ``method`` raises ``error`` on its call number ``call``."""

    def __init__(self, inner: Any, method: str, call: int, error: BaseException) -> None:
        self.inner, self.method, self.call, self.error = inner, method, call, error
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def _maybe_raise(self, method: str) -> None:
        if method == self.method:
            self.calls += 1
            if self.calls == self.call:
                raise self.error

    def observe(self, settle: bool = False) -> Any:
        self._maybe_raise("observe")
        return self.inner.observe(settle=settle)

    def execute(self, action: Any) -> Any:
        self._maybe_raise("execute")
        return self.inner.execute(action)


@pytest.mark.parametrize("phase", ["observe", "execute", "record"])
def test_ctrl_c_at_any_phase_leaves_each_step_on_disk_exactly_once(
        phase: str, open_page: Callable[[str], Any], scripted_policy: Any, tmp_path: Path) -> None:
    inner = open_page("static.html")
    env = RaisingEnv(inner, phase, 2, KeyboardInterrupt())
    plan = [Click(x=100 * i, y=300) for i in range(1, 5)]
    agent = Agent(scripted_policy(plan, screen=SCREEN, env="browser"), env, record_dir=tmp_path)
    if phase == "record":  # the interrupt lands just after step 2's line became durable
        original = Agent._record

        def record_then_interrupt(self: Agent, step: Any) -> None:
            original(self, step)
            if step.index == 2 and step.status is None:
                raise KeyboardInterrupt

        agent._record = record_then_interrupt.__get__(agent)  # type: ignore[method-assign]
    result = agent.run("Click along a line")

    assert result.status == "interrupted" and [s.index for s in result.steps] == [1, 2]
    on_disk = [1] if phase == "observe" else [1, 2]  # step 2 never saw a screen to record
    trajectory = load_trajectory(result.trajectory_path)
    assert [s.index for s in trajectory.steps] == on_disk
    assert trajectory.status == "interrupted" and trajectory.summary.steps == len(on_disk)
    assert [s.executed for s in trajectory.steps] == [True, phase == "record"][:len(on_disk)]


def test_an_env_raising_an_unexpected_exception_mid_action_ends_the_run_as_error(
        open_page: Callable[[str], Any], scripted_policy: Any, tmp_path: Path) -> None:
    env = RaisingEnv(open_page("static.html"), "execute", 1, RuntimeError("driver bug"))
    policy = scripted_policy([Click(x=10, y=10)], screen=SCREEN, env="browser")
    result = Agent(policy, env, record_dir=tmp_path).run("Click")

    assert result.status == "error" and "unexpected RuntimeError: driver bug" in result.message
    trajectory = load_trajectory(result.trajectory_path)
    assert trajectory.status == "error" and len(trajectory.steps) == 1
    assert trajectory.steps[0].decided and not trajectory.steps[0].executed
    assert "driver bug" in trajectory.steps[0].error
