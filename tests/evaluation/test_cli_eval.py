"""``qwen-agent eval`` as a real subprocess against the tiny model's chat server."""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from fixtures.datasets import screenshot, write_screenspot
from fixtures.eval_cases import AC_ANSWERS, AC_ROWS
from fixtures.eval_cases import SCREENSPOT_CASES as CASES
from fixtures.eval_cases import SCREENSPOT_ROWS as EXPECTED_ROWS
from fixtures.models import script_texts
from fixtures.ports import closed_port

sys.path.insert(0, str(Path(__file__).parent.parent / "agent"))  # tests/ is no package
from cli_helpers import EXIT, cli_env, command, qwen_agent  # noqa: E402


def table_rows(stdout: str, title: str) -> list[list[str]]:
    """The rows of the printed table titled ``title`` (cells split on runs of 2+ spaces)."""
    import re

    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    rows = []
    for line in lines[start + 3:]:
        if not line.strip() or line.startswith(("errors", "missing", "grounding:", "success:")):
            break
        rows.append(re.split(r"\s{2,}", line.strip()))
    return rows


def keyed(server: Any) -> None:
    """Answer each ScreenSpot sample by its instruction, whatever order requests come in."""
    cases = [(row["instruction"], answer) for _, row, answer in CASES if answer is not None]
    server.answers = dict(zip([k for k, _ in cases], script_texts([a for _, a in cases])))


def test_screenspot_prints_the_table_and_writes_results_and_predictions(
        screenspot_dir: Path, keyed_server: Any, tmp_path: Path) -> None:
    keyed(keyed_server)
    done = qwen_agent("eval", "screenspot", "--data", str(screenspot_dir), "--version", "2",
                      "--endpoint", keyed_server.base_url, "--model", "tiny-qwen",
                      "--out", "results.json", "--predictions", "p.jsonl", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    print("\n" + done.stdout)
    assert table_rows(done.stdout, "ScreenSpot v2") == EXPECTED_ROWS
    assert "errors (counted as wrong): 1 (1 x unreadable image)" in done.stdout
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["metrics"]["accuracy"] == {"value": 0.375, "hits": 3, "total": 8}
    assert results["model"]["model"] == "tiny-qwen" and results["errors"] == 1
    lines = (tmp_path / "p.jsonl").read_text().splitlines()
    assert len(lines) == 8 and json.loads(lines[0])["model"]["model"] == "tiny-qwen"


def test_androidcontrol_from_the_command_line(release: Path, chat_server: Any,
                                              tmp_path: Path) -> None:
    chat_server.script(script_texts(AC_ANSWERS))
    done = qwen_agent("eval", "androidcontrol", "--data", str(release), "--level", "high",
                      "--endpoint", chat_server.base_url, "--model", "tiny-qwen",
                      "--concurrency", "1", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    print("\n" + done.stdout)
    assert table_rows(done.stdout, "AndroidControl (high level, split test)") == AC_ROWS


def test_ctrl_c_keeps_the_predictions_and_resume_finishes(keyed_server: Any, tmp_path: Path) -> None:
    count = 24
    rows = [{"img_filename": "s.png", "instruction": f"item number {i}.", "bbox": [0, 0, 100, 100],
             "data_type": "text"} for i in range(count)]
    data = write_screenspot(tmp_path / "ss", {"web": rows}, {"s.png": screenshot((560, 336))})
    point = {"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [50, 50]}}
    keyed_server.answers = {f"item number {i}.": script_texts([point])[0] for i in range(count)}
    args = ["eval", "screenspot", "--data", str(data), "--endpoint", keyed_server.base_url,
            "--model", "tiny-qwen", "--concurrency", "1", "--predictions", "p.jsonl"]
    child = subprocess.Popen(command(*args), cwd=tmp_path, env=cli_env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    predictions = tmp_path / "p.jsonl"
    deadline = time.monotonic() + 120
    while not (predictions.exists() and len(predictions.read_text().splitlines()) >= 2):
        assert child.poll() is None and time.monotonic() < deadline, child.communicate()
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=120)
    assert child.returncode == EXIT["interrupted"], err
    scored = len(predictions.read_text().splitlines())
    assert 2 <= scored < count
    assert "INTERRUPTED" in out and f"100.0 ({scored}/{scored})" in out

    done = qwen_agent(*args, "--resume", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{count} scored ({scored} resumed, {count - scored} in" in done.stdout
    assert f"100.0 ({count}/{count})" in done.stdout
    assert len(predictions.read_text().splitlines()) == count


def test_the_progress_bar_shows_the_running_accuracy(screenspot_dir: Path, keyed_server: Any,
                                                     tmp_path: Path) -> None:
    keyed(keyed_server)
    leader, follower = pty.openpty()
    try:
        child = subprocess.Popen(
            command("eval", "screenspot", "--data", str(screenspot_dir), "--endpoint",
                    keyed_server.base_url, "--model", "tiny-qwen", "--concurrency", "1"),
            cwd=tmp_path, env=cli_env({"COLUMNS": "100"}), stdout=subprocess.PIPE,
            stderr=follower, text=True)
        os.close(follower)
        follower = -1
        out, _ = child.communicate(timeout=240)
        seen = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    assert child.returncode == 0
    terminal = seen.decode(errors="replace")
    assert "screenspot" in terminal and "acc 37.5%, 1 error(s)" in terminal
    assert "37.5 (3/8)" in out  # the table goes to stdout, the bar to the terminal


def test_usage_and_dataset_errors_exit_2_and_name_the_problem(tmp_path: Path) -> None:
    rows = [{"img_filename": "m.png", "instruction": "x", "bbox": [1, 2, 3], "data_type": "text"}]
    data = write_screenspot(tmp_path / "ss", {"mobile": rows}, {"m.png": screenshot((280, 560))})
    done = qwen_agent("eval", "screenspot", "--data", str(data), "--model", "tiny", cwd=tmp_path)
    assert done.returncode == EXIT["usage"]
    assert "screenspot_mobile_v2.json: record 0: field 'bbox': expected [x, y, w, h]" in done.stderr
    done = qwen_agent("eval", "screenspot", "--data", str(data), "--resume", cwd=tmp_path)
    assert done.returncode == EXIT["usage"] and "--resume continues a --predictions FILE" in done.stderr
    done = qwen_agent("eval", "screenspot", "--data", str(data), "--batch-size", "4",
                      "--endpoint", "http://127.0.0.1:9", cwd=tmp_path)
    assert done.returncode == EXIT["usage"] and "with --endpoint use --concurrency" in done.stderr


def test_a_dead_server_stops_the_run_with_exit_5(screenspot_dir: Path, tmp_path: Path) -> None:
    done = qwen_agent("eval", "screenspot", "--data", str(screenspot_dir), "--endpoint",
                      f"http://127.0.0.1:{closed_port()}", "--model", "m", cwd=tmp_path)
    assert done.returncode == EXIT["error"], done.stderr
    assert "STOPPED" in done.stdout and "cannot reach" in done.stderr


def test_a_local_model_in_batches(screenspot_dir: Path, tmp_path: Path) -> None:
    """``--model tiny`` (built offline into the cache) through the batched path: the random
    model's answers rarely parse, and each one is scored with its reason."""
    done = qwen_agent("eval", "screenspot", "--data", str(screenspot_dir), "--model", "tiny",
                      "--batch-size", "4", "--limit", "5", "--predictions", "p.jsonl", cwd=tmp_path,
                      env={"XDG_CACHE_HOME": str(tmp_path / "cache")}, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "5 scored (0 resumed, 5 in" in done.stdout
    lines = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert len(lines) == 5 and all(line["raw"] is not None and line["why"] for line in lines)


@pytest.mark.slow
def test_miniwob_with_the_tiny_model(tmp_path: Path) -> None:
    """The whole live path with a real (random) model: prompt, generate, parse, act, score."""
    done = qwen_agent("eval", "miniwob", "--tasks", "click-button,click-link", "--episodes", "2",
                      "--seed", "0", "--max-steps", "2", "--model", "tiny", "--record", "runs",
                      "--predictions", "p.jsonl", cwd=tmp_path,
                      env={"XDG_CACHE_HOME": str(tmp_path / "cache")}, timeout=600)
    assert done.returncode == 0, done.stderr
    print("\n" + done.stdout)
    rows = table_rows(done.stdout, "MiniWoB++ (seeds from 0, up to 2 steps)")
    assert [r[:2] for r in rows] == [["click-button", "2"], ["click-link", "2"], ["overall", "4"]]
    lines = [json.loads(line) for line in (tmp_path / "p.jsonl").read_text().splitlines()]
    assert [line["id"] for line in lines] == ["click-button:0", "click-button:1", "click-link:0",
                                              "click-link:1"]
    assert all(line["extra"]["steps"] >= 1 and line["input"]["utterance"] for line in lines)
    assert len(list((tmp_path / "runs").iterdir())) == 4
