"""What a hostile page, model answer or server can do to a run: the attacks, performed for real.

Each test runs the real parts (headless Chromium on pages served from
127.0.0.1, the tiny model's chat server, the recorder) and checks what a user
would: no secret in any byte written, printed or sent, a step kept despite a
broken character, memory that stays flat over a long run.
"""

from __future__ import annotations

import html
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote, unquote_plus

import pytest
from fixtures.browser import PageServer
from fixtures.models import script_texts
from fixtures.ports import closed_port

from qwen_gui_agent.actions import Click, Decision, Move, Navigate, Terminate, TypeText
from qwen_gui_agent.agent import Agent
from qwen_gui_agent.trajectories import load_trajectory

sys.path.insert(0, str(Path(__file__).parent))  # tests/ is no package: reach the shared helpers
from cli_helpers import EXIT, json_lines, qwen_agent  # noqa: E402

SCREEN = (1280, 800)
MAX_PIXELS = 256 * 28 * 28


def _strings(value: Any) -> Iterator[str]:
    """Every string inside a JSON-like value, keys included."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _leaks(text: str, secret: str) -> bool:
    """Whether ``text`` shows ``secret`` in any spelling a reader could decode."""
    return any(secret in form for form in (text, unquote(text), unquote_plus(text), html.unescape(text)))


@pytest.mark.parametrize("secret", ["hunter2 SE/CR&ET+x", "pa ss/w&o+r%d\"q'é"],
                         ids=["url-special", "quotes-percent-non-ascii"])
def test_a_secret_in_any_encoding_is_nowhere_written_printed_or_sent(
        secret: str, browser_env_module: Callable[..., Any], page_server: PageServer,
        chat_server: Any, tmp_path: Path) -> None:
    env = browser_env_module("form.html")
    centre = env.page.evaluate("""id => { const r = document.getElementById(id).getBoundingClientRect();
        return [Math.round(r.x + r.width / 2), Math.round(r.y + r.height / 2)]; }""", "name")
    submit = env.page.evaluate("""id => { const r = document.getElementById(id).getBoundingClientRect();
        return [Math.round(r.x + r.width / 2), Math.round(r.y + r.height / 2)]; }""", "submit")
    refused = f"http://127.0.0.1:{closed_port()}/login?password={{PASSWORD}}"
    chat_server.script(script_texts(
        [Click(x=centre[0], y=centre[1]), TypeText(text="{PASSWORD}"), Click(x=submit[0], y=submit[1]),
         Navigate(url=refused), Terminate(status="success")],
        screen=SCREEN, env="browser", max_pixels=MAX_PIXELS))
    runs = tmp_path / "runs"
    done = qwen_agent("run", "Submit the form with {PASSWORD}", "--env", "browser",
                      "--url", page_server.url("form.html"), "--endpoint", chat_server.base_url,
                      "--model", "tiny", "--max-pixels", str(MAX_PIXELS), "--record", str(runs),
                      "--json", "--secret", f"PASSWORD={secret}", cwd=tmp_path)
    assert done.returncode == EXIT["success"], done.stderr
    steps = json_lines(done.stdout)[:-1]
    # the page got the real value (GET form: encoded in the URL), the failed page load
    # named it in its error, and both came back as placeholders
    assert "{PASSWORD}" in steps[3]["error"] and "could not open" in steps[3]["error"]
    (run,) = runs.iterdir()
    trajectory = load_trajectory(run)
    assert "name={PASSWORD}" in (trajectory.steps[3].observation.url or "")
    assert qwen_agent("report", str(run), cwd=tmp_path).returncode == 0
    for layout in ("qwen-vl-finetune", "llamafactory"):
        assert qwen_agent("export", str(run), "--format", layout, "--out", str(tmp_path / layout),
                          cwd=tmp_path).returncode == 0
    written = [p for p in tmp_path.rglob("*") if p.is_file() and p.suffix != ".png"]
    assert {p.name for p in written} >= {"trajectory.jsonl", "report.html", "data.json"}
    for path in written:
        assert not _leaks(path.read_text(encoding="utf-8"), secret), path
    assert not _leaks(done.stdout + done.stderr, secret)
    bodies = [r["body"] for r in chat_server.requests if r["body"] is not None]
    assert len(bodies) == 5 and "{PASSWORD}" in json.dumps(bodies[4])  # the error, fed back
    for text in _strings(bodies):
        assert not _leaks(text, secret)


class _Wanderer:
    """A rule-based policy that moves the pointer somewhere new each step, forever."""

    def decide(self, task: str, observation: Any, history: Any) -> Decision:
        step = len(history)
        return Decision(actions=(Move(x=40 + (step * 37) % 1000, y=40 + (step * 53) % 600),))


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS in /proc/self/status")


def test_memory_stays_flat_over_a_long_recorded_run(browser_env: Callable[..., Any],
                                                    page_server: PageServer, tmp_path: Path) -> None:
    env = browser_env(url=page_server.url("form.html"))
    rss: dict[int, float] = {}

    def measure(step: Any) -> None:
        if step.index in (10, 200):
            rss[step.index] = _rss_mb()

    result = Agent(_Wanderer(), env, max_steps=200, record_dir=tmp_path, on_step=measure).run(
        "Wander about")
    assert result.status == "max_steps" and len(result.steps) == 200
    assert rss[200] - rss[10] <= 50, rss  # a kept screenshot each step would be about 4 MB more
    assert len(load_trajectory(result.trajectory_path).steps) == 200


def test_a_lone_surrogate_from_the_model_is_recorded_and_the_run_goes_on(
        browser_env: Callable[..., Any], page_server: PageServer, chat_server: Any,
        tmp_path: Path) -> None:
    from qwen_gui_agent.model import OpenAIPolicy

    env = browser_env(url=page_server.url("form.html"))
    chat_server.answer_next('Thinking \ud800 hard\n<tool_call>\n{"name": "computer_use", "arguments": '
                            '{"action": "type", "text": "a\ud800b"}}\n</tool_call>')
    chat_server.answer_next('<tool_call>\n{"name": "computer_use", "arguments": '
                            '{"action": "terminate", "status": "success"}}\n</tool_call>')
    policy = OpenAIPolicy(chat_server.base_url, "m")
    result = Agent(policy, env, record_dir=tmp_path).run("Type something odd")
    assert result.status == "success" and len(result.steps) == 2
    trajectory = load_trajectory(result.trajectory_path)
    first = trajectory.steps[0]  # refused (a string that is no text), fed back, kept
    assert not first.decided and "valid string" in (first.error or "")
    assert first.raw is not None and first.raw.startswith("Thinking \ufffd hard") and "a\ufffdb" in first.raw
    assert "U+FFFD" in first.extra["text_repaired"]
    assert trajectory.steps[1].actions == [Terminate(status="success")]
    (trajectory.path / "trajectory.jsonl").read_bytes().decode("utf-8")  # valid UTF-8 throughout
    # the next prompt still reached the model: the broken character did not end the run
    assert len([r for r in chat_server.requests if r["body"]]) == 2


def test_a_known_model_failure_reads_as_a_sentence(browser_env: Callable[..., Any],
                                                   page_server: PageServer, chat_server: Any) -> None:
    from qwen_gui_agent.model import OpenAIPolicy

    env = browser_env(url=page_server.url("form.html"))
    chat_server.fail_next(503, times=3)
    policy = OpenAIPolicy(chat_server.base_url, "m", max_retries=2, backoff=0.01)
    result = Agent(policy, env).run("Anything")
    assert result.status == "error"
    assert result.message.startswith("the model could not answer: ")
    assert "unexpected" not in result.message and ".py:" not in result.message


class _ClickThenLook:
    """Clicks a link, then looks at what it was told about that step, then stops."""

    def __init__(self, point: tuple[int, int]) -> None:
        self.point = point
        self.told: list[str | None] = []

    def decide(self, task: str, observation: Any, history: Any) -> Decision:
        if not history:
            return Decision(actions=(Click(x=self.point[0], y=self.point[1]),))
        self.told.append(history[-1].feedback)
        return Decision(actions=(Terminate(status="success"),))


@pytest.mark.parametrize("target", ["_self", "_blank"], ids=["same-tab", "new-tab"])
def test_a_page_outside_the_allowed_domains_is_refused_and_the_model_is_told(
        tmp_path: Path, target: str) -> None:
    from qwen_gui_agent.envs.browser.env import BrowserEnv

    (tmp_path / "home").mkdir()
    (tmp_path / "evil").mkdir()
    with PageServer(tmp_path / "home") as home, PageServer(tmp_path / "evil") as evil:
        (tmp_path / "home" / "start.html").write_text(
            f'<!doctype html><title>home</title><a id="go" target="{target}" '
            f'style="position:absolute;left:0;top:0;width:400px;height:100px;display:block" '
            f'href="{evil.origin}/bait.html">win a prize</a>')
        with BrowserEnv(url=home.url("start.html"), viewport=(800, 600),
                        allowed_domains=[f"127.0.0.1:{home.port}"]) as env:
            policy = _ClickThenLook((100, 50))
            result = Agent(policy, env, record_dir=tmp_path / "runs").run("Claim the prize")
            assert result.status == "success"
            assert env.page.url == home.url("start.html")
        assert evil.requests == []  # never requested, not even once
    assert policy.told and "refused to open" in (policy.told[0] or "")
    assert "is not an allowed domain" in (policy.told[0] or "")
    first = load_trajectory(result.trajectory_path).steps[0]
    assert first.executed and "refused to open" in json.dumps(first.model_dump(mode="json"))


def _crafted_run(todo_run: Path, folder: Path, header: dict[str, Any], action: dict[str, Any]) -> Path:
    """A copy of a real recorded run, rewritten as someone sharing a hostile file would:
    ``header`` merged into its header, and one step doing ``action`` with no screenshot."""
    records = [json.loads(line) for line in (todo_run / "trajectory.jsonl").read_text().splitlines()]
    first_step = next(r for r in records if r.get("type") == "step")
    first_step.update(actions=[action], model_calls=[], screenshot=None)
    records = [{**records[0], **header}, first_step]
    folder.mkdir(parents=True)
    (folder / "trajectory.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records))
    return folder


@pytest.mark.parametrize("on_mismatch", ["stop", "continue"])
def test_a_shared_recording_cannot_run_a_command_on_replay(todo_run: Path, tmp_path: Path,
                                                           on_mismatch: str) -> None:
    marker = tmp_path / "pwned"
    run = _crafted_run(todo_run, tmp_path / "shared", {"env": "desktop", "env_options": {}},
                       {"type": "open_app", "name": f"sh -c 'touch {marker}'"})
    done = qwen_agent("replay", str(run), "--virtual-display", "640x480", "--speed", "0",
                      "--on-mismatch", on_mismatch, "--no-record", "--json", cwd=tmp_path)
    assert not marker.exists()
    summary = json_lines(done.stdout)[-1]
    # a step that cannot be checked against the screen is a mismatch, never a silent pass
    assert done.returncode == EXIT["mismatch"], done.stderr
    assert summary["mismatches"] == [{"step": 1, "similarity": None}] and summary["replayed"] == 0
    if on_mismatch == "stop":
        assert "has no screenshot" in summary["message"] and summary["not_performed"] == []
    else:  # played anyway: the desktop's allow-list (empty) refused it, and that is no success
        [refused] = summary["not_performed"]
        assert refused["step"] == 1 and "no apps may be opened" in refused["reason"]
        assert "could not be performed" in summary["message"]


def test_a_shared_recordings_env_options_are_bounded_before_anything_starts(
        todo_run: Path, tmp_path: Path) -> None:
    run = _crafted_run(todo_run, tmp_path / "shared",
                       {"env_options": {"viewport": [1_000_000, 1_000_000]}},
                       {"type": "click", "x": 10, "y": 10})
    done = qwen_agent("replay", str(run), "--speed", "0", "--no-record", cwd=tmp_path, timeout=60)
    assert done.returncode == EXIT["usage"], done.stderr
    assert "viewport" in done.stderr and "Traceback" not in done.stderr
