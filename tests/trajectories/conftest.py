"""Recorded runs for the trajectory tests, made on the real headless-Chromium env.

The agent loop is not needed to make a run: a scripted plan (click the input,
type, click "Add", terminate) is driven through :class:`Recorder` with real
observations from :class:`BrowserEnv` and the decisions a model would have
produced (tool calls in model pixels, raw text, thought).

Test modules reach the helpers through the ``kit`` fixture (conftest modules
are not importable under ``--import-mode=importlib``).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.browser import PageServer

from qwen_gui_agent.actions.frame import Frame
from qwen_gui_agent.actions.models import Click, Terminate, TypeText
from qwen_gui_agent.actions.translate import action_to_call
from qwen_gui_agent.model.policy import Decision
from qwen_gui_agent.trajectories import Recorder, new_run_dir

PAGES = Path(__file__).parent / "pages"
TASK = "Add 'buy milk' to the shopping list"
ITEM = "buy milk"
MIN_PIXELS = 4 * 28 * 28
MAX_PIXELS = 400 * 28 * 28
"""Small enough that the model frame is well below the screenshot size."""
VIEWPORT = (800, 500)


@pytest.fixture(scope="session")
def todo_server() -> Iterator[PageServer]:
    with PageServer(PAGES) as server:
        yield server


def element_center(env: Any, width: int, selector: str) -> tuple[int, int]:
    """The centre of ``selector`` in screenshot pixels (CSS pixels times the scale)."""
    left, top, w, h, inner = env.page.evaluate(
        """(s) => { const r = document.querySelector(s).getBoundingClientRect();
                    return [r.left, r.top, r.width, r.height, window.innerWidth]; }""",
        selector,
    )
    scale = width / inner
    return round((left + w / 2) * scale), round((top + h / 2) * scale)


def items(env: Any) -> list[str]:
    return env.page.evaluate("window.__items()")


def scripted_decision(action: Any, frame: Frame, thought: str) -> Decision:
    """The Decision a model emitting ``action`` as one ``computer_use`` call would yield."""
    call = action_to_call(action, frame, "computer_use")
    raw = f"{thought}\n<tool_call>\n{json.dumps(call)}\n</tool_call>"
    return Decision(actions=(action,), raw=raw, thought=thought, model_calls=[call],
                    model_size=frame.model_size, prompt_tokens=1234, output_tokens=42,
                    timings={"preprocess": 0.01, "generate": 0.5, "parse": 0.001})


def record_todo_run(env: Any, root: Path, redact: Callable[[str], str] | None = None) -> Path:
    """Record the scripted to-do run on ``env`` into a new run dir under ``root``."""
    header = {"task": TASK, "env": env.kind, "tool_name": "computer_use",
              "min_pixels": MIN_PIXELS, "max_pixels": MAX_PIXELS,
              "policy": {"class": "scripted"}}
    plan: list[tuple[str, Callable[[int], Any]]] = [
        ("Click the input box.", lambda w: Click(**dict(zip("xy", element_center(env, w, "#item"))))),
        ("Type the item.", lambda w: TypeText(text=ITEM)),
        ("Press Add.", lambda w: Click(**dict(zip("xy", element_center(env, w, "#add"))))),
        ("The item is on the list.", lambda w: Terminate(status="success")),
    ]
    with Recorder(new_run_dir(root, "todo"), header, redact=redact) as recorder:
        for index, (thought, make) in enumerate(plan, start=1):
            observation = env.observe(settle=True)
            action = make(observation.width)
            frame = Frame(observation.width, observation.height, MIN_PIXELS, MAX_PIXELS)
            final = isinstance(action, Terminate)
            outcome = None if final else env.execute(action)
            recorder.record_step(
                index=index, observation=observation,
                decision=scripted_decision(action, frame, thought), outcome=outcome, error=None,
                feedback=None, timings={"observe": 0.05, "decide": 0.5, "execute": 0.02},
                executed=not final,
            )
        recorder.finish(status="success", answer=None, message="the model terminated", steps=4)
    return recorder.path


class Kit:
    """The constants and helpers of this folder's tests."""

    TASK = TASK
    ITEM = ITEM
    MIN_PIXELS = MIN_PIXELS
    MAX_PIXELS = MAX_PIXELS
    VIEWPORT = VIEWPORT
    element_center = staticmethod(element_center)
    items = staticmethod(items)
    scripted_decision = staticmethod(scripted_decision)
    record_todo_run = staticmethod(record_todo_run)


@pytest.fixture(scope="session")
def kit() -> type[Kit]:
    return Kit


@pytest.fixture(scope="session")
def todo_run(todo_server: PageServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A finished run of the to-do task (recorded once per session; treat it as read-only)."""
    from qwen_gui_agent.envs.browser import BrowserEnv

    with BrowserEnv(url=todo_server.url("todo.html"), viewport=VIEWPORT) as env:
        path = record_todo_run(env, tmp_path_factory.mktemp("runs"))
        assert items(env) == [ITEM]
    yield path
