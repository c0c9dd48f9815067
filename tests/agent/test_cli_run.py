"""``qwen-agent run`` / ``replay`` / ``export`` / ``report`` as real subprocesses.

The model is the tiny Qwen2.5-VL behind the real chat-completions server of
``tests/fixtures/models.py``, forced to play a planned sequence of tool calls;
the CLI reaches it with ``--endpoint``. The env is the real headless Chromium
on the pages of ``tests/fixtures/pages``. Nothing is faked inside the child.
"""

from __future__ import annotations

import json
import os
import pty
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator, Sequence

import pytest
from fixtures.browser import PageServer
from fixtures.models import script_texts
from fixtures.ports import closed_port

from qwen_gui_agent.actions import Click, Terminate, TypeText, Wait
from qwen_gui_agent.trajectories import load_trajectory

sys.path.insert(0, str(Path(__file__).parent))  # tests/ is no package: reach the shared helpers
from cli_helpers import EXIT, cli_env, command, json_lines, qwen_agent  # noqa: E402

SCREEN = (1280, 800)
"""The browser env's default viewport at device scale factor 1: screenshot pixels."""
TASK = "Submit the form with the name Ada"
MAX_PIXELS = 256 * 28 * 28
"""A small model image keeps the tiny model quick; coordinates still map back exactly."""


def plan(server: Any, items: Sequence[Any], thoughts: Sequence[str | None] | None = None) -> None:
    server.script(script_texts(items, screen=SCREEN, env="browser", thoughts=thoughts,
                               max_pixels=MAX_PIXELS))


def run_args(page_server: PageServer, server: Any, root: Path, *extra: str,
             task: str = TASK, page: str = "form.html") -> list[str]:
    return ["run", task, "--env", "browser", "--url", page_server.url(page),
            "--endpoint", server.base_url, "--model", "tiny", "--max-pixels", str(MAX_PIXELS),
            "--record", str(root), *extra]


def only_run(root: Path) -> Path:
    (run,) = [p for p in root.iterdir() if p.is_dir()]
    return run


def submit_plan(form: dict[str, tuple[int, int]], name: str = "Ada") -> list[Any]:
    return [Click(x=form["name"][0], y=form["name"][1]), TypeText(text=name),
            Click(x=form["submit"][0], y=form["submit"][1]), Terminate(status="success")]


THOUGHTS = ["Click the name field.", "Type the name.", "Submit the form.", "The form is submitted."]


@pytest.fixture(scope="module")
def recorded(form: dict[str, tuple[int, int]], page_server: PageServer, _tiny_chat_server: Any,
             tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[subprocess.CompletedProcess[str], Path]]:
    """One successful CLI run (live view), shared by the run, replay, export and report tests."""
    root = tmp_path_factory.mktemp("recorded")
    _tiny_chat_server.reset()
    plan(_tiny_chat_server, submit_plan(form), THOUGHTS)
    done = qwen_agent(*run_args(page_server, _tiny_chat_server, root / "runs"), cwd=root)
    requests = list(_tiny_chat_server.requests)
    _tiny_chat_server.reset()
    assert len(requests) == 4, (done.stdout, done.stderr)
    assert all(r["body"]["model"] == "tiny" for r in requests)
    yield done, only_run(root / "runs")


def test_run_succeeds_shows_each_step_and_records_the_trajectory(
        recorded: tuple[subprocess.CompletedProcess[str], Path], form: dict[str, tuple[int, int]]) -> None:
    done, run = recorded
    assert done.returncode == EXIT["success"], done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == f"task: {TASK}"
    trajectory = load_trajectory(run)
    clicked = [s.actions[0].point for s in trajectory.steps if s.actions[0].type == "click"]
    # The model answers in its own (smaller) frame: back on screen, within a pixel or two.
    for point, target in zip(clicked, (form["name"], form["submit"])):
        assert abs(point[0] - target[0]) <= 2 and abs(point[1] - target[1]) <= 2
    steps = [line for line in lines if re.match(r"^\s+\d+  ", line)]
    assert [s.split("  model ")[0].rstrip() for s in steps] == [
        "  1  click ({}, {})".format(*clicked[0]), '  2  type "Ada"',
        "  3  click ({}, {})".format(*clicked[1]), "  4  terminate success"]
    assert all(re.search(r"model \d+\.\d\ds  act (\d+\.\d\ds|-)$", s) for s in steps)
    assert all(len(line) <= 120 for line in lines[:-1])  # COLUMNS=120; the path line is never cut
    for thought in THOUGHTS:
        assert f"     {thought}" in lines
    assert re.search(r"^done: success after 4 step\(s\) in \d+\.\ds$", done.stdout, re.M)
    assert lines[-1] == f"trajectory: {run}"
    assert trajectory.status == "success" and len(trajectory.steps) == 4
    assert [s.executed for s in trajectory.steps] == [True, True, True, False]
    assert trajectory.steps[0].observation.url.endswith("/form.html")
    assert "/result.html?name=Ada&" in trajectory.steps[3].observation.url  # the page state


def test_json_mode_and_secrets_never_leak(
        form: dict[str, tuple[int, int]], page_server: PageServer, chat_server: Any, tmp_path: Path) -> None:
    secret, token = "s3cretValue9", "tok-4242-xyz"
    plan(chat_server, submit_plan(form, name="{PASSWORD}"))
    done = qwen_agent(*run_args(page_server, chat_server, tmp_path / "runs", "--json",
                                "--secret", f"PASSWORD={secret}", task="Submit the form as {PASSWORD}"),
                      cwd=tmp_path, env={"QWEN_AGENT_SECRET_TOKEN": token})
    assert done.returncode == EXIT["success"], done.stderr
    records = json_lines(done.stdout)
    assert [r["type"] for r in records] == ["step"] * 4 + ["summary"]
    assert [r["index"] for r in records[:4]] == [1, 2, 3, 4]
    assert records[1]["actions"] == [{"type": "type", "text": "{PASSWORD}"}]
    assert records[1]["executed"] is True and "decide" in records[1]["timings"]
    summary = records[-1]
    run = only_run(tmp_path / "runs")
    assert summary == {**summary, "status": "success", "steps": 4, "exit_code": 0, "trajectory": str(run)}
    # The real value reached the page (the recorder redacted it back in the URL, braces
    # unencoded: a literally typed "{PASSWORD}" would read %7BPASSWORD%7D) ...
    trajectory = load_trajectory(run)
    assert "/result.html?name={PASSWORD}&" in trajectory.steps[3].observation.url
    header = json.loads((run / "trajectory.jsonl").read_text().splitlines()[0])
    assert sorted(header["agent"]["secrets"]) == ["PASSWORD", "TOKEN"]
    # ... and never anything written, printed or sent to the model.
    for value in (secret, token):
        assert value not in done.stdout + done.stderr
        assert value not in json.dumps(chat_server.requests)
        for path in run.rglob("*"):
            assert path.is_dir() or value.encode() not in path.read_bytes(), path
    # Replaying the run needs the value again: refused without it, typed with it.
    refused = qwen_agent("replay", str(run), "--record", str(tmp_path / "replays"), cwd=tmp_path)
    assert refused.returncode == EXIT["usage"]
    assert "the run typed the secret(s) PASSWORD: give their values with --secret PASSWORD=VALUE" \
        in refused.stderr
    replayed = qwen_agent("replay", str(run), "--speed", "0", "--record", str(tmp_path / "replays"),
                          cwd=tmp_path, env={"QWEN_AGENT_SECRET_PASSWORD": secret})
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout.startswith("replay completed: 3 step(s) replayed")
    for path in (tmp_path / "replays").rglob("*"):
        assert path.is_dir() or secret.encode() not in path.read_bytes(), path


@pytest.mark.parametrize("record", [True, False], ids=["recorded", "no-record"])
def test_terminate_failure_exits_1(record: bool, page_server: PageServer, chat_server: Any,
                                   tmp_path: Path) -> None:
    plan(chat_server, [Terminate(status="failure")], ["This cannot be done."])
    extra = () if record else ("--no-record",)
    done = qwen_agent(*run_args(page_server, chat_server, tmp_path / "runs", *extra), cwd=tmp_path)
    assert done.returncode == EXIT["failure"], done.stderr
    assert re.search(r"^FAILED: failure after 1 step\(s\)", done.stdout, re.M)
    assert "message: the policy terminated with failure" in done.stdout
    if record:
        assert load_trajectory(only_run(tmp_path / "runs")).status == "failure"
    else:
        assert not (tmp_path / "runs").exists() and "trajectory:" not in done.stdout


def test_an_unreachable_start_page_is_an_error(chat_server: Any, tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{closed_port()}/"
    done = qwen_agent("run", TASK, "--env", "browser", "--url", url, "--endpoint", chat_server.base_url,
                      "--model", "tiny", "--json", cwd=tmp_path)
    assert done.returncode == EXIT["error"]
    assert done.stderr.startswith("qwen-agent: error: ")
    assert f"could not open {url}" in done.stderr
    assert "Traceback" not in done.stderr
    (summary,) = json_lines(done.stdout)
    assert summary["status"] == "error" and summary["exit_code"] == EXIT["error"]
    assert chat_server.requests == []


def test_an_unreachable_model_server_ends_the_run_as_error(page_server: PageServer, tmp_path: Path) -> None:
    done = qwen_agent("run", TASK, "--env", "browser", "--url", page_server.url("form.html"),
                      "--endpoint", f"http://127.0.0.1:{closed_port()}", "--model", "tiny",
                      "--record", str(tmp_path / "runs"), cwd=tmp_path)
    assert done.returncode == EXIT["error"], done.stdout
    assert re.search(r"^ERROR: error after 1 step\(s\)", done.stdout, re.M)
    trajectory = load_trajectory(only_run(tmp_path / "runs"))
    assert trajectory.status == "error" and len(trajectory.steps) == 1


def test_dry_run_decides_and_records_but_performs_nothing(
        form: dict[str, tuple[int, int]], page_server: PageServer, chat_server: Any, tmp_path: Path) -> None:
    plan(chat_server, submit_plan(form))
    done = qwen_agent(*run_args(page_server, chat_server, tmp_path / "runs", "--dry-run"), cwd=tmp_path)
    assert done.returncode == EXIT["success"], done.stderr
    assert "dry run: actions are decided and recorded, not performed" in done.stdout
    trajectory = load_trajectory(only_run(tmp_path / "runs"))
    assert [len(s.actions) for s in trajectory.steps] == [1, 1, 1, 1]
    assert not any(s.executed for s in trajectory.steps)
    assert trajectory.steps[3].observation.url.endswith("/form.html")  # never submitted


@pytest.mark.parametrize("repeat, max_steps, status", [(False, "2", "max_steps"), (True, "9", "stuck")])
def test_step_limit_and_stuck_have_their_own_exit_codes(
        repeat: bool, max_steps: str, status: str, page_server: PageServer, chat_server: Any,
        tmp_path: Path) -> None:
    # Clicks on the empty page: the same one again and again is a loop; moving ones are not.
    plan(chat_server, [Click(x=900, y=700 if repeat else 600 + 10 * i) for i in range(6)])
    done = qwen_agent(*run_args(page_server, chat_server, tmp_path / "runs", "--max-steps", max_steps),
                      cwd=tmp_path)
    assert done.returncode == EXIT[status], (done.stdout, done.stderr)
    assert load_trajectory(only_run(tmp_path / "runs")).status == status


@pytest.mark.parametrize(("signum", "group"), [(signal.SIGINT, False), (signal.SIGTERM, False),
                                              (signal.SIGINT, True)],
                         ids=["SIGINT", "SIGTERM", "Ctrl-C"])
def test_sigint_or_sigterm_finalises_the_trajectory_and_exits_130(
        signum: int, group: bool, page_server: PageServer, chat_server: Any, tmp_path: Path) -> None:
    # Waits of different lengths: never stuck, never done, one second each.
    plan(chat_server, [Wait(seconds=1 + i / 100) for i in range(30)])
    child = subprocess.Popen(command(*run_args(page_server, chat_server, tmp_path / "runs")),
                             cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True, start_new_session=group)
    seen = []
    assert child.stdout is not None
    for line in child.stdout:
        seen.append(line)
        if line.startswith("  2  wait"):
            break
    if group:  # a terminal's Ctrl-C reaches every process of the group: Playwright's driver too
        os.killpg(child.pid, signum)
    else:
        child.send_signal(signum)
    rest, errors = child.communicate(timeout=120)
    assert child.returncode == EXIT["interrupted"], errors
    assert "Traceback" not in errors and "exception was never retrieved" not in errors, errors
    output = "".join(seen) + rest
    assert re.search(r"^INTERRUPTED: interrupted after \d+ step\(s\)", output, re.M)
    run = only_run(tmp_path / "runs")
    assert f"trajectory: {run}" in output
    trajectory = load_trajectory(run)
    assert trajectory.status == "interrupted"
    assert trajectory.summary is not None and trajectory.summary.message.startswith("interrupted")
    assert len(trajectory.steps) >= 2
    assert all(s.actions[0].type == "wait" for s in trajectory.steps if s.actions)


def test_confirm_without_a_terminal_declines_with_a_clear_message(
        form: dict[str, tuple[int, int]], page_server: PageServer, chat_server: Any, tmp_path: Path) -> None:
    plan(chat_server, [TypeText(text="Ada"), Terminate(status="success")])
    done = qwen_agent(*run_args(page_server, chat_server, tmp_path / "runs", "--confirm", "sensitive",
                                "--max-steps", "2"), cwd=tmp_path)
    assert done.returncode == EXIT["max_steps"], done.stderr
    assert done.stderr.count("--confirm needs an interactive terminal to ask on") == 2
    assert "[declined]" in done.stdout
    trajectory = load_trajectory(only_run(tmp_path / "runs"))
    assert not any(s.executed for s in trajectory.steps)


def test_confirm_asks_on_the_terminal(
        form: dict[str, tuple[int, int]], page_server: PageServer, chat_server: Any, tmp_path: Path) -> None:
    plan(chat_server, [Click(x=form["name"][0], y=form["name"][1]), TypeText(text="Ada"),
                       Terminate(status="success")])
    leader, follower = pty.openpty()
    try:
        os.write(leader, b"n\ny\n")  # decline the typing, accept the success
        done = subprocess.run(command(*run_args(page_server, chat_server, tmp_path / "runs",
                                                "--confirm", "sensitive")),
                              cwd=tmp_path, env=cli_env(), stdin=follower, capture_output=True,
                              text=True, timeout=240)
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == EXIT["success"], done.stderr
    assert done.stderr.count("? [y/N] ") == 2  # click is not sensitive; type and success are
    assert 'perform type "Ada"? [y/N]' in done.stderr
    assert re.search(r'^  2  type "Ada"  \[declined\]', done.stdout, re.M)
    trajectory = load_trajectory(only_run(tmp_path / "runs"))
    assert [s.executed for s in trajectory.steps] == [True, False, False]
    assert trajectory.status == "success"


# -- replay, export, report on the recorded run ------------------------------------------------

def test_report_writes_one_html_file(recorded: tuple[subprocess.CompletedProcess[str], Path],
                                     tmp_path: Path) -> None:
    _, run = recorded
    out = tmp_path / "report.html"
    done = qwen_agent("report", str(run), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"report: {out}"
    html = out.read_text()
    assert html.count('<section class="step"') == 4
    assert TASK in html


@pytest.mark.parametrize("fmt", ["qwen-vl-finetune", "llamafactory"])
def test_export_writes_samples_and_images(fmt: str, recorded: tuple[subprocess.CompletedProcess[str], Path],
                                          tmp_path: Path) -> None:
    _, run = recorded
    out = tmp_path / "sft"
    done = qwen_agent("export", str(run), "--format", fmt, "--out", str(out), "--status", "success",
                      cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    data = json.loads((out / "data.json").read_text())
    assert re.search(rf"^exported {len(data)} sample\(s\) .* from 1 run\(s\) \(0 filtered out\) as {fmt}$",
                     done.stdout, re.M)
    assert len(data) == 4
    images = [p for p in (out / "images").iterdir()]
    assert len(images) == 4
    skipped = qwen_agent("export", str(run), "--format", fmt, "--out", str(tmp_path / "none"),
                         "--status", "failure", cwd=tmp_path)
    assert "exported 0 sample(s) with 0 image(s) from 0 run(s) (1 filtered out)" in skipped.stdout


def test_replay_reaches_the_same_page_and_detects_a_changed_one(
        recorded: tuple[subprocess.CompletedProcess[str], Path], page_server: PageServer,
        tmp_path: Path) -> None:
    _, run = recorded
    done = qwen_agent("replay", str(run), "--speed", "0", "--record", str(tmp_path / "ok"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("replay completed: 3 step(s) replayed, 0 by the model, 0 mismatch(es)")
    replayed = only_run(tmp_path / "ok")
    assert done.stdout.rstrip().endswith(f"trajectory: {replayed}")
    trajectory = load_trajectory(replayed)
    *acted, final = trajectory.steps
    assert [s.actions for s in acted] == [s.actions for s in load_trajectory(run).steps[:3]]
    assert all(s.executed and s.extra["replay"]["matched"] for s in acted)
    assert final.actions == [] and trajectory.status == "completed"
    changed = qwen_agent("replay", str(run), "--url", page_server.url("static.html"), "--json",
                         "--record", str(tmp_path / "changed"), cwd=tmp_path)
    assert changed.returncode == EXIT["mismatch"], changed.stderr
    (summary,) = json_lines(changed.stdout)
    assert summary["status"] == "mismatch" and summary["mismatches"][0]["step"] == 1


def test_replay_hands_a_mismatched_step_to_the_model(
        recorded: tuple[subprocess.CompletedProcess[str], Path], page_server: PageServer,
        chat_server: Any, tmp_path: Path) -> None:
    _, run = recorded
    plan(chat_server, [Terminate(status="success")])
    done = qwen_agent("replay", str(run), "--url", page_server.url("static.html"), "--on-mismatch", "model",
                      "--endpoint", chat_server.base_url, "--model", "tiny", "--max-pixels", str(MAX_PIXELS),
                      "--record", str(tmp_path / "model"), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("replay success: 0 step(s) replayed, 1 by the model, 1 mismatch(es)")
    assert len(chat_server.requests) == 1


def test_desktop_run_on_a_private_virtual_display(chat_server: Any, tmp_path: Path) -> None:
    chat_server.script(script_texts([Click(x=320, y=240), Terminate(status="success")],
                                    screen=(640, 480), env="desktop"))
    done = qwen_agent("run", "Click the middle of the screen", "--env", "desktop", "--virtual-display",
                      "640x480", "--endpoint", chat_server.base_url, "--model", "tiny",
                      "--record", str(tmp_path / "runs"), cwd=tmp_path)
    assert done.returncode == EXIT["success"], done.stderr
    assert re.search(r"^  1  click \(320, 240\)", done.stdout, re.M)
    trajectory = load_trajectory(only_run(tmp_path / "runs"))
    assert [s.observation.size for s in trajectory.steps] == [(640, 480), (640, 480)]
    assert trajectory.steps[0].executed and trajectory.status == "success"
