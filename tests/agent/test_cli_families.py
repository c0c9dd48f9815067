"""``qwen-agent run`` per model family, as real subprocesses on a real headless Chromium.

- ``--model DIR`` works unchanged for a tiny Qwen2.5-VL, Qwen3-VL and UI-TARS-1.5
  checkpoint: the family is detected from the folder (UI-TARS by its name), the
  prompt and the image size are the family's, the run header records it.
- ``--endpoint URL --family F``: the scripted chat server answers in F's syntax and
  frame; the request's image has F's resize, and the click submits the form (the
  page says where it landed: the run ends on result.html).
- A family mix-up is caught where the values give it away and not where they fit.
"""

from __future__ import annotations

import base64
import io
import json
import sys
from pathlib import Path
from typing import Any, Callable

import pytest
from fixtures.browser import PageServer
from fixtures.models import script_texts
from PIL import Image

from qwen_gui_agent.actions import Click, Terminate
from qwen_gui_agent.actions.dialects import FAMILIES, get_dialect
from qwen_gui_agent.trajectories import load_trajectory

sys.path.insert(0, str(Path(__file__).parent))  # tests/ is no package: reach the shared helpers
from cli_helpers import EXIT, qwen_agent  # noqa: E402

SCREEN = (1280, 800)
"""The default viewport at scale 1 (the ``form`` fixture measures it)."""
MAX_PIXELS = 256 * 28 * 28
"""Small model images keep the tiny models quick, and make every family resize."""
PROMPT_MARK = {
    "qwen2.5-vl": "The screen's resolution is {w}x{h}.",  # the resized size, in pixels
    "qwen3-vl": "The screen's resolution is 1000x1000.",  # the relative grid
    "ui-tars": "click(start_box='<|box_start|>(x1,y1)<|box_end|>')",
}


def _run(page_server: PageServer, root: Path, *model: str, url: str = "form.html",
         max_steps: int = 4) -> tuple[Any, Any]:
    done = qwen_agent("run", "Submit the form", "--env", "browser", "--url", page_server.url(url),
                      "--max-steps", str(max_steps), "--record", str(root / "runs"), *model,
                      cwd=root)
    (run,) = (root / "runs").iterdir()
    return done, load_trajectory(run)


def _prompt_text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(part["text"] for m in messages for part in m["content"]
                     if isinstance(part, dict) and part.get("type") == "text")


@pytest.mark.parametrize("family", FAMILIES)
def test_run_with_a_local_checkpoint_of_each_family(
        family: str, tiny_family_dir: Callable[[str], Path], page_server: PageServer,
        tmp_path: Path) -> None:
    """The random weights answer nonsense (fed back as unusable); the run itself works."""
    done, trajectory = _run(page_server, tmp_path, "--model", str(tiny_family_dir(family)),
                            "--max-pixels", str(MAX_PIXELS), max_steps=1)
    assert done.returncode == EXIT["max_steps"], done.stderr
    header = trajectory.header
    assert header.family == family and header.policy["class"].endswith("QwenPolicy")
    frame = get_dialect(family).frame(*SCREEN, header.image_bounds)
    (image,) = [p for m in trajectory.steps[0].prompt for p in m["content"] if p["type"] == "image"]
    assert (image["width"], image["height"]) == frame.image_size
    assert image["width"] % header.image_bounds.factor == 0
    mark = PROMPT_MARK[family].format(w=frame.image_size[0], h=frame.image_size[1])
    assert mark in _prompt_text(trajectory.steps[0].prompt)


@pytest.mark.parametrize("family", FAMILIES)
def test_run_against_an_endpoint_speaking_each_family(
        family: str, form: dict[str, tuple[int, int]], page_server: PageServer, chat_server: Any,
        tmp_path: Path) -> None:
    submit = form["submit"]
    chat_server.script(script_texts([Click(x=submit[0], y=submit[1]), Terminate(status="success")],
                                    screen=SCREEN, env="browser", family=family,
                                    max_pixels=MAX_PIXELS))
    done, trajectory = _run(page_server, tmp_path, "--endpoint", chat_server.base_url, "--model",
                            "tiny", "--family", family, "--max-pixels", str(MAX_PIXELS))
    assert done.returncode == EXIT["success"], done.stderr
    assert trajectory.header.family == family
    assert "/result.html?" in trajectory.steps[-1].observation.url  # the click hit Submit
    frame = get_dialect(family).frame(*SCREEN, trajectory.header.image_bounds)
    factor = get_dialect(family).bounds.factor
    assert [image.size for image in chat_server.images] == [frame.image_size] * 2
    assert all(side % factor == 0 for side in frame.image_size)
    mark = PROMPT_MARK[family].format(w=frame.image_size[0], h=frame.image_size[1])
    assert mark in json.dumps(chat_server.requests[0]["body"]["messages"], ensure_ascii=False)


def test_qwen3_output_read_as_qwen25_is_not_caught_where_it_fits(
        form: dict[str, tuple[int, int]], page_server: PageServer, chat_server: Any,
        tmp_path: Path) -> None:
    """Qwen3-VL's grid point for Submit, read as Qwen2.5-VL pixels of a 1288x812 image:
    every value is a valid pixel there, so the run clicks elsewhere without a word. Why
    the family must be right (README "Model families"), and why doctor shows it."""
    submit = form["submit"]
    chat_server.script(script_texts([Click(x=submit[0], y=submit[1]), Terminate(status="success")],
                                    screen=SCREEN, env="browser", family="qwen3-vl"))
    done, trajectory = _run(page_server, tmp_path, "--endpoint", chat_server.base_url,
                            "--model", "tiny", "--family", "qwen2.5-vl")
    assert done.returncode == EXIT["success"], done.stderr
    first = trajectory.steps[0]
    assert first.feedback is None and first.executed
    clicked = first.actions[0].point
    assert abs(clicked[0] - submit[0]) + abs(clicked[1] - submit[1]) > 40, (clicked, submit)
    assert trajectory.steps[-1].observation.url.endswith("/form.html")  # never submitted


def test_a_value_off_the_qwen3_grid_is_fed_back_with_the_grid_explained(
        page_server: PageServer, chat_server: Any, tmp_path: Path) -> None:
    raw = ('Thought: Submit it.\nAction: "Click Submit."\n<tool_call>\n{"name": "computer_use", '
           '"arguments": {"action": "left_click", "coordinate": [1500, 300]}}\n</tool_call>')
    terminate = script_texts([Terminate(status="success")], screen=SCREEN, env="browser",
                             family="qwen3-vl")
    chat_server.script([raw, *terminate])
    done, trajectory = _run(page_server, tmp_path, "--endpoint", chat_server.base_url,
                            "--model", "tiny", "--family", "qwen3-vl", "--max-pixels",
                            str(MAX_PIXELS))
    assert done.returncode == EXIT["success"], done.stderr
    first = trajectory.steps[0]
    assert not first.executed and first.feedback.startswith(
        "Unusable output: `coordinate` [1500, 300] of `left_click` is outside the screen")
    assert "Coordinates are relative, not pixels: x and y each run from 0" in first.feedback
    assert "run it with its --family" in first.feedback
    # What the model reads next: its step, then the explanation.
    assert "Coordinates are relative, not pixels" in _prompt_text(trajectory.steps[1].prompt)
    sent = Image.open(io.BytesIO(base64.b64decode(_image_url(chat_server.requests[0]))))
    assert sent.size[0] % 32 == 0 and sent.size[1] % 32 == 0


def _image_url(request: dict[str, Any]) -> str:
    """The base64 payload of the request's (only) image."""
    (url,) = [part["image_url"]["url"] for m in request["body"]["messages"]
              for part in (m["content"] if isinstance(m["content"], list) else [])
              if part["type"] == "image_url"]
    return url.split(",", 1)[1]
