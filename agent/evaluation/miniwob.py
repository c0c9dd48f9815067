"""MiniWoB++ live: the agent loop plays the benchmark's own web tasks in the browser env.

The ``miniwob`` package (PyPI, the ``miniwob`` extra) ships every task as an
HTML page with the benchmark's JavaScript; only those files are used (its gym
and Selenium layers are not imported). Each episode opens the task's page
from the package folder (``file://``) in :class:`BrowserEnv` (Playwright and
the system Chromium), seeds the page's random generator, starts the episode,
and hands the page's instruction (``core.getUtterance()``) to the normal
:class:`~qwen_gui_agent.agent.loop.Agent` with the task area as the screen.
The episode ends when the page ends it (its own ``core.endEpisode``), when the
model terminates, or at the step limit.

Success is the task's own verdict: the raw reward the page computed is above 0
(MiniWoB++ gives +1 for a solved task, -1 for a wrong move, and 0 for an
episode that never ended). The page's clock is stopped by default
(``time_limit=None``), because how long a model takes to answer depends on the
hardware, not on the model: the step limit ends an episode instead. Give
``time_limit`` (seconds) to play with the benchmark's timer and time-scaled reward.
"""

from __future__ import annotations

import importlib.util
import json
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwen_gui_agent.agent.evaluation.core import LiveSuite
from qwen_gui_agent.agent.evaluation.score import Score
from qwen_gui_agent.agent.evaluation.tables import Table, rate
from qwen_gui_agent.errors import DatasetError, EnvError, UsageError

if TYPE_CHECKING:
    from qwen_gui_agent.agent.loop import RunResult
    from qwen_gui_agent.envs.browser.env import BrowserEnv
    from qwen_gui_agent.model.policy import Policy

TASK_AREA = (160, 210)
"""CSS pixels of every MiniWoB++ task (``#wrap``): the screen the model sees."""
SCALE = 2.0
"""Device pixels per CSS pixel: 320x420 screenshots, a size GUI models read well."""
NO_CLOCK_MS = 3_600_000
"""The page's episode timer when the clock is off: an hour, far beyond any step limit."""

_HOOK = """(limitMs) => {
  // Keep the first result of the episode, and show no START cover afterwards: a stray
  // click on it would start a new episode and overwrite the verdict.
  window.__qwenEvalResult = null;
  const end = core.endEpisode;
  core.endEpisode = function () {
    const live = core.EP_TIMER !== null;
    const out = end.apply(this, arguments);
    if (live && window.__qwenEvalResult === null) {
      window.__qwenEvalResult = {reward: WOB_REWARD_GLOBAL, raw_reward: WOB_RAW_REWARD_GLOBAL,
                                 reason: WOB_REWARD_REASON == null ? null : String(WOB_REWARD_REASON)};
    }
    return out;
  };
  core.startEpisode = function () {};
  core.EPISODE_MAX_TIME = limitMs;
}"""
_UTTERANCE = """() => { const u = core.getUtterance();
  return typeof u === 'string' ? u : (u && u.utterance) || ''; }"""


def miniwob_html() -> Path:
    """The ``miniwob`` package's task folder (``.../miniwob/html/miniwob``), found without
    importing the package (its gym and Selenium layers are not needed)."""
    spec = importlib.util.find_spec("miniwob")
    if spec is None or not spec.submodule_search_locations:
        raise UsageError("MiniWoB++ needs the `miniwob` package: pip install 'qwen-gui-agent[miniwob]'")
    folder = Path(list(spec.submodule_search_locations)[0]) / "html" / "miniwob"
    if not folder.is_dir():
        raise DatasetError(f"{folder}: the miniwob package has no task pages there")
    return folder


class MiniWoB(LiveSuite):
    """``episodes`` episodes of each of ``tasks`` (MiniWoB++ names such as ``click-button``),
    seeded ``seed``, ``seed + 1``, ...; each ends after at most ``max_steps`` steps.

    ``record_dir``: record each episode as a trajectory there. ``html``: another
    folder of task pages (default: the ``miniwob`` package's). ``browser``: an open
    :class:`BrowserEnv` to play in, whose viewport is the task area (default: a new
    headless one, ``TASK_AREA`` at ``scale``, closed at the end).
    """

    name = "miniwob"

    def __init__(self, tasks: Sequence[str], *, episodes: int = 10, seed: int = 0,
                 max_steps: int = 10, time_limit: float | None = None,
                 record_dir: Path | str | None = None, html: Path | str | None = None,
                 scale: float = SCALE, max_consecutive_errors: int = 3,
                 browser: BrowserEnv | None = None) -> None:
        if not tasks:
            raise UsageError("name at least one MiniWoB++ task, e.g. click-button")
        if episodes < 1 or max_steps < 1:
            raise UsageError("episodes and max_steps must be at least 1")
        if time_limit is not None and not time_limit > 0:
            raise UsageError(f"time_limit must be positive seconds, got {time_limit}")
        self.html = Path(html) if html is not None else miniwob_html()
        unknown = [t for t in tasks if not (self.html / f"{t}.html").is_file()]
        if unknown:
            known = sorted(p.stem for p in self.html.glob("*.html"))
            raise UsageError(f"unknown MiniWoB++ task(s) {', '.join(unknown)}; there are "
                             f"{len(known)}: {', '.join(known[:12])}, ...")
        self.tasks = list(tasks)
        self.n_episodes, self.seed, self.max_steps = episodes, seed, max_steps
        self.time_limit = time_limit
        self.record_dir = Path(record_dir) if record_dir is not None else None
        self.scale = scale
        self.max_consecutive_errors = max_consecutive_errors
        self.browser = browser

    def settings(self) -> dict[str, Any]:
        return {"tasks": self.tasks, "episodes": self.n_episodes, "seed": self.seed,
                "max_steps": self.max_steps, "time_limit": self.time_limit, "scale": self.scale}

    def count(self) -> int:
        return len(self.tasks) * self.n_episodes

    def episodes(self) -> list[str]:
        return [f"{task}:{self.seed + k}" for task in self.tasks for k in range(self.n_episodes)]

    def play(self, policy: Policy, ids: Sequence[str]) -> Iterator[Score]:
        from qwen_gui_agent.envs.browser.env import BrowserEnv

        if not ids:
            return
        if self.browser is not None:
            refusal = self.browser.policy.refusal("file:///miniwob/task.html")
            if refusal is not None:
                raise UsageError(f"MiniWoB++ opens its tasks from files, which this browser "
                                 f"refuses ({refusal}): make it with allow_schemes=['file']")
            yield from self._play(self.browser, policy, ids)
            return
        # MiniWoB++'s tasks are the package's own HTML files, opened from disk
        with BrowserEnv(viewport=TASK_AREA, device_scale_factor=self.scale, pause=0.05,
                        allow_schemes=["file"]) as env:
            yield from self._play(env, policy, ids)

    def _play(self, env: BrowserEnv, policy: Policy, ids: Sequence[str]) -> Iterator[Score]:
        for episode in ids:
            task, seed = episode.rsplit(":", 1)
            yield self._episode(env, policy, episode, task, int(seed))

    def _episode(self, env: BrowserEnv, policy: Policy, episode: str, task: str,
                 seed: int) -> Score:
        from qwen_gui_agent.actions.models import action_to_dict
        from qwen_gui_agent.agent.loop import Agent

        utterance = self._start(env, task, seed)
        agent = Agent(policy, env, max_steps=self.max_steps, record_dir=self.record_dir,
                      run_label=f"miniwob-{task}-{seed}",
                      max_consecutive_errors=self.max_consecutive_errors,
                      header={"miniwob": {"task": task, "seed": seed}})
        agent.start(utterance)
        verdict = None
        while not agent.done:
            agent.step()
            verdict = _verdict(env)
            if verdict is not None and not agent.done:
                agent.finish("success" if verdict["raw_reward"] > 0 else "failure",
                             f"the page ended the episode: raw reward {verdict['raw_reward']}")
        result: RunResult = agent.result
        raw_reward = verdict["raw_reward"] if verdict else 0.0
        success = raw_reward > 0
        if verdict:
            why = (f"the page ended the episode after {len(result.steps)} step(s): reward "
                   f"{verdict['reward']:g} (raw {raw_reward:g})"
                   + (f", {verdict['reason']}" if verdict.get("reason") else ""))
        else:
            why = f"the page never ended the episode (run ended: {result.status}: {result.message})"
        last = result.steps[-1] if result.steps else None
        return Score(
            episode, {"task": task}, {"success": success}, success, why,
            input={"task": task, "seed": seed, "utterance": utterance},
            raw=last.raw if last else None,
            actions=[action_to_dict(a) for s in result.steps for a in s.actions],
            extra={"reward": verdict["reward"] if verdict else 0.0, "raw_reward": raw_reward,
                   "steps": len(result.steps), "status": result.status,
                   "trajectory": str(result.trajectory_path) if result.trajectory_path else None},
        )

    def _start(self, env: BrowserEnv, task: str, seed: int) -> str:
        """Load the task page, seed it, start the episode; returns the instruction."""
        from playwright.sync_api import Error as PlaywrightError

        limit = NO_CLOCK_MS if self.time_limit is None else int(self.time_limit * 1000)
        try:
            page = env.page
            page.goto((self.html / f"{task}.html").resolve().as_uri())
            page.wait_for_load_state("load")
            page.evaluate(_HOOK, limit)
            page.evaluate(f"() => {{ Math.seedrandom({json.dumps(str(seed))}); "
                          "core.startEpisodeReal(); }")
            deadline = time.monotonic() + 5
            while not page.evaluate("() => WOB_TASK_READY"):
                if time.monotonic() > deadline:
                    raise EnvError(f"MiniWoB++ task {task} did not get ready within 5 s")
                time.sleep(0.05)
            utterance = page.evaluate(_UTTERANCE)
        except PlaywrightError as exc:
            raise EnvError(f"MiniWoB++ task {task} could not be started in the browser: "
                           f"{str(exc).splitlines()[0]}") from exc
        if not utterance.strip():
            raise EnvError(f"MiniWoB++ task {task} shows no instruction")
        return utterance

    def summarize(self, scores: Sequence[Score]) -> tuple[dict[str, Any], list[Table]]:
        table = Table(f"MiniWoB++ (seeds from {self.seed}, up to {self.max_steps} steps): "
                      "success % (solved/episodes)",
                      ["task", "episodes", "success", "mean reward", "mean steps"])
        tasks = [t for t in self.tasks if any(s.groups["task"] == t for s in scores)]
        for label in [*tasks, "overall"]:
            chosen = [s for s in scores if label == "overall" or s.groups["task"] == label]
            table.rows.append([label, str(len(chosen)), rate(chosen, "success").cell(),
                               _mean([s.extra.get("raw_reward", 0.0) for s in chosen]),
                               _mean([s.extra.get("steps", 0) for s in chosen])])
        table.notes.append("success: the page's own raw reward > 0; mean reward: raw reward "
                           "(+1 solved, -1 wrong, 0 never ended)")
        metrics = {"success": rate(scores, "success").to_json(),
                   "by_task": {t: rate(scores, "success", lambda s, t=t: s.groups["task"] == t).to_json()
                               for t in tasks}}
        return metrics, [table]


def _verdict(env: BrowserEnv) -> dict[str, Any] | None:
    """The page's result once it ended the episode, else None."""
    return env.page.evaluate("() => window.__qwenEvalResult")


def _mean(values: Sequence[float]) -> str:
    return f"{sum(values) / len(values):.2f}" if values else "-"
