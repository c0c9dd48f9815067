"""The sharp edges a new user met in the first hour, each checked the way that user would meet it.

The CLI runs as a subprocess against the real tiny-model chat server and
headless Chromium; the report is opened in Chromium and read through its
computed styles, as a person would see it.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable

from fixtures.browser import PageServer
from fixtures.models import script_texts

from qwen_gui_agent.actions import Terminate, Wait
from qwen_gui_agent.agent import Agent
from qwen_gui_agent.trajectories import load_trajectory, write_report

sys.path.insert(0, str(Path(__file__).parent))
from cli_helpers import EXIT, qwen_agent  # noqa: E402

SCREEN = (1280, 800)
MAX_PIXELS = 256 * 28 * 28


def _run(page_server: PageServer, chat_server: Any, cwd: Path, *extra: str,
         task: str = "Check the form page") -> Any:
    return qwen_agent("run", task, "--env", "browser", "--url", page_server.url("form.html"),
                      "--endpoint", chat_server.base_url, "--model", "tiny",
                      "--max-pixels", str(MAX_PIXELS), *extra, cwd=cwd)


def test_an_unusable_answer_keeps_its_prompt_tokens_and_timings(
        open_page: Callable[[str], Any], scripted_policy: Any, tmp_path: Path) -> None:
    env = open_page("static.html")
    policy = scripted_policy(["no call here", Terminate(status="success")], screen=SCREEN,
                             env="browser")
    result = Agent(policy, env, record_dir=tmp_path).run("Look")
    unusable = load_trajectory(result.trajectory_path).steps[0]
    assert not unusable.decided and unusable.raw == "no call here"
    assert unusable.prompt and unusable.prompt[0]["role"] == "system"
    assert unusable.prompt_tokens and unusable.prompt_tokens > 100 and unusable.output_tokens
    assert {"preprocess", "generate", "parse"} <= unusable.model_timings.keys()


def test_run_folders_name_their_task_and_report_takes_the_latest(
        page_server: PageServer, chat_server: Any, tmp_path: Path) -> None:
    for task in ("Check the form page", "Then check it again"):
        chat_server.script(script_texts([Terminate(status="success")], screen=SCREEN,
                                        env="browser", max_pixels=MAX_PIXELS))
        assert _run(page_server, chat_server, tmp_path, "--record", "runs",
                    task=task).returncode == EXIT["success"]
    first, second = sorted((tmp_path / "runs").iterdir())
    assert first.name.endswith("-check-the-form-page")
    assert second.name.endswith("-then-check-it-again")
    done = qwen_agent("report", "runs", cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.strip() == f"report: runs/{second.name}/report.html"


def test_an_unwritable_record_folder_is_a_usage_error_said_plainly(
        page_server: PageServer, chat_server: Any, tmp_path: Path) -> None:
    done = _run(page_server, chat_server, tmp_path, "--record", "/proc/nope")
    assert done.returncode == EXIT["usage"]
    assert "cannot record runs under /proc/nope" in done.stderr and "--no-record" in done.stderr
    assert chat_server.requests == []  # refused before any browser or model was started


def test_a_model_that_never_answers_usably_is_not_a_failure_verdict(
        page_server: PageServer, chat_server: Any, tmp_path: Path) -> None:
    chat_server.script(["noise"] * 3)
    done = _run(page_server, chat_server, tmp_path, "--no-record", "--max-steps", "8")
    assert done.returncode == EXIT["error"]
    assert "3 unusable steps in a row" in done.stdout
    assert "terminated with failure" not in done.stdout


def test_several_phones_and_no_serial_is_a_usage_error_naming_the_flag(
        adb_server: Any, make_adb_simulator: Callable[..., Any], tmp_path: Path) -> None:
    make_adb_simulator(), make_adb_simulator()
    done = qwen_agent("run", "Tap", "--env", "android", "--adb-port", str(adb_server.port),
                      "--model", "tiny", "--no-record", cwd=tmp_path,
                      env={"ANDROID_SERIAL": ""})
    assert done.returncode == EXIT["usage"]
    assert "2 Android devices are connected" in done.stderr and "--serial" in done.stderr


def test_report_badges_are_readable_and_a_successful_end_is_green(
        page_server: PageServer, chat_server: Any, browser_env: Callable[..., Any],
        tmp_path: Path) -> None:
    chat_server.script(script_texts(["garbage", Wait(seconds=0.1), Terminate(status="success")],
                                    screen=SCREEN, env="browser", max_pixels=MAX_PIXELS))
    assert _run(page_server, chat_server, tmp_path, "--record", "runs").returncode == EXIT["success"]
    (run,) = (tmp_path / "runs").iterdir()
    report = write_report(run)
    env = browser_env(url=report.as_uri(), allow_schemes=["file"])
    badges = env.page.evaluate("""() => Array.from(document.querySelectorAll("section.step .badge"),
        b => [b.textContent, getComputedStyle(b).color, getComputedStyle(b).backgroundColor])""")
    labels = [label for label, _, _ in badges]
    assert labels == ["no action", "executed", "ended: success"]
    for label, colour, background in badges:
        assert colour == "rgb(255, 255, 255)" and background != colour, label
    green = env.page.evaluate("getComputedStyle(document.documentElement).getPropertyValue('--ok')")
    assert badges[2][2] == "rgb(26, 127, 55)" and green.strip() == "#1a7f37"
