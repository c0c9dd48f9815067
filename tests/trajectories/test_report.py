"""The HTML report, rendered by headless Chromium and checked through its DOM and pixels."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from qwen_gui_agent.actions.decision import Decision
from qwen_gui_agent.actions.models import Drag, LongPress, Scroll
from qwen_gui_agent.actions.observation import Observation
from qwen_gui_agent.trajectories import Recorder, load_trajectory, write_report

_DOM_FACTS = """() => ({
  steps: document.querySelectorAll("section.step").length,
  images: Array.from(document.images, (i) => [i.complete, i.naturalWidth, i.naturalHeight]),
  overlays: document.querySelectorAll("section.step svg.overlay").length,
  marks: Array.from(document.querySelectorAll("svg.overlay [data-action]"), (m) => m.dataset.action),
  status: document.getElementById("run-status").textContent,
  thoughts: Array.from(document.querySelectorAll("section.step dd"), (d) => d.textContent),
  resources: performance.getEntriesByType("resource").map((e) => e.name),
})"""

MARK_RED = (255, 45, 85)


def _has_mark_pixels(image: Any) -> bool:
    """True when the screenshot shows the overlay's marker colour somewhere."""
    rgb = image.convert("RGB")
    step = 2
    for y in range(0, rgb.height, step):
        for x in range(0, rgb.width, step):
            r, g, b = rgb.getpixel((x, y))
            if abs(r - MARK_RED[0]) < 30 and abs(g - MARK_RED[1]) < 40 and abs(b - MARK_RED[2]) < 40:
                return True
    return False


def test_report_renders_every_step_offline(todo_run: Path, browser_env: Callable[..., Any],
                                          tmp_path: Path, kit: Any) -> None:
    path = write_report(todo_run, tmp_path / "report.html")
    html = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href|url)\s*[=(]\s*["']?(https?:|//)""", html)
    run = load_trajectory(todo_run)
    env = browser_env(url=path.as_uri(), allow_schemes=["file"])
    facts = env.page.evaluate(_DOM_FACTS)
    assert facts["steps"] == len(run.steps) == 4
    assert facts["overlays"] == 4 and len(facts["images"]) == 4
    for complete, width, height in facts["images"]:
        assert complete and width > 0 and height > 0
    assert facts["marks"] == ["click", "click"]
    assert facts["status"] == "success"
    assert any("Click the input box." in text for text in facts["thoughts"])
    assert not [r for r in facts["resources"] if not r.startswith("data:")]
    env.page.evaluate("document.getElementById('step-1').scrollIntoView()")
    shot = env.observe().image
    shot.save(tmp_path / "report.png")
    assert _has_mark_pixels(shot)
    assert len(shot.convert("L").resize((64, 40)).getcolors(4096) or ()) > 10  # not a blank page


def test_drag_scroll_and_long_press_are_drawn(todo_run: Path, browser_env: Callable[..., Any],
                                              tmp_path: Path) -> None:
    source = load_trajectory(todo_run)
    step = source.steps[0]
    width, height = step.screen_size
    observation = Observation(image=source.image(step), env="browser", title="Todo")
    actions = [Drag(x=10, y=20, to_x=width // 2, to_y=height // 2), Scroll(x=50, y=60, dy=400),
               Scroll(dx=-200), LongPress(x=width - 1, y=height - 1, duration=2)]
    with Recorder(tmp_path / "run", {"task": "gestures", "env": "browser"}) as recorder:
        for index, action in enumerate(actions, start=1):
            recorder.record_step(index=index, observation=observation,
                                 decision=Decision(actions=(action,), raw=f"raw {index}"),
                                 outcome=None, error=None, feedback=None,
                                 timings={"decide": 0.25}, executed=False)
    # no summary: the run reads as killed, and the report says so
    path = write_report(tmp_path / "run")
    assert path == tmp_path / "run" / "report.html"
    env = browser_env(url=path.as_uri(), allow_schemes=["file"])
    facts = env.page.evaluate(_DOM_FACTS)
    assert facts["steps"] == 4
    assert facts["marks"] == ["drag", "scroll", "scroll", "long_press"]
    assert facts["status"] == "incomplete"
    raw = env.page.evaluate("Array.from(document.querySelectorAll('details pre'), p => p.textContent)")
    assert "raw 3" in raw


def test_model_text_is_shown_as_text_never_run_as_markup(
        todo_run: Path, browser_env: Callable[..., Any], tmp_path: Path) -> None:
    source = load_trajectory(todo_run)
    observation = Observation(image=source.image(source.steps[0]), env="browser",
                              title="<img src=x onerror=window.__pwned=1>")
    hostile = "<script>window.__pwned = 1</script>{{steps}}</pre><b id=injected>x</b>"
    with Recorder(tmp_path / "run", {"task": hostile, "env": "browser"}) as recorder:
        recorder.record_step(index=1, observation=observation,
                             decision=Decision(actions=(), raw=hostile, thought=hostile),
                             outcome=None, error=hostile, feedback=None, timings={})
        recorder.finish(status="success", answer=hostile, message=hostile, steps=1)
    path = write_report(tmp_path / "run")
    env = browser_env(url=path.as_uri(), allow_schemes=["file"])
    facts = env.page.evaluate("""() => ({
      pwned: window.__pwned === 1,
      scripts: document.scripts.length,
      injected: document.querySelectorAll("#injected, section img[src=x]").length,
      steps: document.querySelectorAll("section.step").length,
      text: document.body.textContent,
    })""")
    assert not facts["pwned"] and facts["scripts"] == 1 and facts["injected"] == 0
    assert facts["steps"] == 1  # the answer's "{{steps}}" did not paste the steps again
    assert facts["text"].count("<script>window.__pwned = 1</script>{{steps}}") >= 4
