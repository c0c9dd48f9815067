"""MiniWoB++ live: the package's own task pages in headless Chromium, through the agent loop."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qwen_gui_agent.actions.decision import Decision
from qwen_gui_agent.actions.models import Click
from qwen_gui_agent.agent.evaluation import MiniWoB, evaluate
from qwen_gui_agent.agent.evaluation.miniwob import SCALE, TASK_AREA, miniwob_html
from qwen_gui_agent.errors import UsageError

TASKS = ["click-button", "click-link"]
_TARGET = """() => {
  const want = document.querySelector('#query').textContent.match(/"([^"]+)"/)[1];
  const found = [...document.querySelectorAll('#area button, #area .alink')]
    .find(e => e.textContent.trim() === want);
  const r = found.getBoundingClientRect();
  return [r.left + r.width / 2, r.top + r.height / 2];
}"""


class DomPolicy:
    """Reads the target out of the page and clicks its centre, as a perfect model would."""

    def __init__(self, env: Any) -> None:
        self.env = env
        self.tasks: list[str] = []

    def decide(self, task: str, observation: Any, history: Any) -> Decision:
        self.tasks.append(task)
        x, y = self.env.page.evaluate(_TARGET)
        scale = observation.width / TASK_AREA[0]
        return Decision(actions=(Click(x=round(x * scale), y=round(y * scale)),), raw="(dom)")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from qwen_gui_agent.envs.browser.env import BrowserEnv

    with BrowserEnv(viewport=TASK_AREA, device_scale_factor=SCALE, allow_schemes=["file"]) as env:
        yield env


def test_a_policy_that_reads_the_dom_solves_the_tasks(browser: Any, tmp_path: Path) -> None:
    policy = DomPolicy(browser)
    predictions = tmp_path / "miniwob.jsonl"
    suite = MiniWoB(TASKS, episodes=3, seed=7, max_steps=3, browser=browser,
                    record_dir=tmp_path / "runs")
    results = evaluate(suite, policy, predictions=predictions)

    assert results.complete
    print("\n" + results.text())
    assert results.metrics["success"]["total"] == 6
    assert results.metrics["success"]["hits"] > 0
    assert [s.id for s in results.scores] == ["click-button:7", "click-button:8", "click-button:9",
                                              "click-link:7", "click-link:8", "click-link:9"]
    solved = [s for s in results.scores if s.correct]
    assert all(s.extra["raw_reward"] == 1 and s.extra["steps"] == 1 for s in solved)
    assert solved[0].why.startswith("the page ended the episode after 1 step(s): reward ")
    assert policy.tasks[0].startswith("Click on the ")  # the page's own instruction
    line = json.loads(predictions.read_text().splitlines()[0])
    assert line["input"]["utterance"] == policy.tasks[0] and line["input"]["seed"] == 7
    assert Path(line["extra"]["trajectory"]).is_dir()


def test_seeds_make_episodes_repeatable(browser: Any) -> None:
    def instructions() -> list[str]:
        policy = DomPolicy(browser)
        evaluate(MiniWoB(["click-button"], episodes=2, seed=3, browser=browser), policy)
        return policy.tasks

    first = instructions()
    assert instructions() == first


class WrongClicks:
    """Clicks the top-left corner: the query text, never the target."""

    def decide(self, task: str, observation: Any, history: Any) -> Decision:
        return Decision(actions=(Click(x=2, y=2),), raw="(corner)")


def test_an_episode_the_page_never_ends_is_a_failure(browser: Any) -> None:
    results = evaluate(MiniWoB(["click-button"], episodes=1, max_steps=2, browser=browser),
                       WrongClicks())
    score = results.scores[0]
    assert not score.correct and score.extra["raw_reward"] == 0 and score.extra["steps"] == 2
    assert score.why.startswith("the page never ended the episode (run ended: max_steps")
    assert results.tables[0].rows[-1] == ["overall", "1", "0.0 (0/1)", "0.00", "2.00"]


def test_unknown_tasks_are_refused() -> None:
    assert (miniwob_html() / "click-button.html").is_file()
    with pytest.raises(UsageError, match="unknown MiniWoB.. task.s. click-buton"):
        MiniWoB(["click-buton"])
