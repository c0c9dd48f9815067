"""``qwen-agent`` as a subprocess: help, version, usage errors, cheap import, doctor."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import qwen_gui_agent

sys.path.insert(0, str(Path(__file__).parent))  # tests/ is no package: reach the shared helpers
from cli_helpers import EXIT, cli_env, qwen_agent  # noqa: E402

COMMANDS = ("run", "replay", "export", "report", "eval", "doctor")


def test_help_lists_every_command_and_the_console_script_works(tmp_path: Path) -> None:
    script = Path(sys.executable).with_name("qwen-agent")
    assert script.exists(), "the console script qwen-agent is not installed next to python"
    done = subprocess.run([str(script), "--help"], capture_output=True, text=True, cwd=tmp_path,
                          env=cli_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    for name in COMMANDS:
        assert f"    {name} " in done.stdout
    assert "examples:" in done.stdout


@pytest.mark.parametrize("name", COMMANDS)
def test_each_command_has_help_with_examples(name: str, tmp_path: Path) -> None:
    done = qwen_agent(name, "--help", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: qwen-agent {name}")
    assert "example" in done.stdout


def test_run_help_documents_exit_codes_and_defaults(tmp_path: Path) -> None:
    text = qwen_agent("run", "--help", cwd=tmp_path).stdout
    assert "0 success, 1 failure, 3 max_steps, 4 stuck, 5 error, 130 interrupted, 2 usage error" in text
    assert "Qwen/Qwen2.5-VL-7B-Instruct" in text and "Qwen/Qwen2.5-VL-3B-Instruct" in text
    assert "QWEN_AGENT_SECRET_NAME" in text


def test_version(tmp_path: Path) -> None:
    done = qwen_agent("--version", cwd=tmp_path)
    assert done.returncode == 0
    assert done.stdout.strip() == f"qwen-agent {qwen_gui_agent.__version__}"


def test_importing_the_cli_loads_no_heavy_library(tmp_path: Path) -> None:
    code = ("import sys, qwen_gui_agent.cli.parser; "
            "print(sorted({m.split('.')[0] for m in sys.modules} & "
            "{'torch', 'transformers', 'playwright', 'pyautogui', 'mss', 'adbutils', 'PIL'}))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=tmp_path, env=cli_env(), timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("args, words", [
    (["run", "do it"], "--env"),
    (["run", "do it", "--env", "web"], "invalid choice"),
    (["run", "do it", "--env", "desktop", "--virtual-display", "big"], "WIDTHxHEIGHT"),
    (["run", "do it", "--env", "browser", "--max-steps", "0"], "positive integer"),
    (["run", "do it", "--env", "android", "--url", "http://x"], "--url does not apply to the android env"),
    (["run", "do it", "--env", "browser", "--virtual-display", "800x600"], "desktop env only"),
    (["run", "do it", "--env", "desktop"], "--virtual-display 1280x800 for a private headless one"),
    (["run", "do it", "--env", "browser", "--secret", "NOEQUALS"], "NAME=VALUE"),
    (["run", "do it", "--env", "browser", "--secret", "1X=y"], "not valid"),
    (["replay", "/nonexistent/run"], "/nonexistent/run"),
    (["export", "x", "--out", "o"], "--format"),
    (["replay", "r", "--speed", "-1"], "speed factor"),
    (["export", "/nonexistent/run", "--format", "llamafactory", "--out", "o"], "no trajectory at"),
    (["report", "/nonexistent/run"], "no trajectory at"),
    ([], "COMMAND"),
])
def test_usage_errors_exit_2_with_a_clear_message(args: list[str], words: str, tmp_path: Path) -> None:
    done = qwen_agent(*args, cwd=tmp_path)
    assert done.returncode == EXIT["usage"], (done.stdout, done.stderr)
    assert words in done.stderr
    assert "Traceback" not in done.stderr


def _doctor(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return qwen_agent("doctor", *args, cwd=cwd, env=env, timeout=120)


def test_doctor_reports_each_part_and_exits_0_without_strict(tmp_path: Path) -> None:
    done = _doctor(cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    for area in ("core", "desktop", "browser", "android", "model"):
        assert area in lines
    rows = {line.split()[1]: line.split()[0] for line in lines
            if line.startswith("  ") and line.split()[0] in ("OK", "MISSING", "OPTIONAL")}
    for name in ("display", "Xvfb", "xdotool", "chromium", "playwright", "adb", "torch",
                 "transformers", "flash-attn", "cuda"):
        assert name in rows, f"no doctor line for {name}"
    # Facts of this machine, checked independently of the doctor:
    assert rows["Xvfb"] == ("OK" if shutil.which("Xvfb") else "MISSING")
    assert rows["display"] == "MISSING"  # the child runs without $DISPLAY
    assert "fix: export DISPLAY=:0" in done.stdout
    import torch

    assert f"OK       torch         {torch.__version__}" in done.stdout
    assert rows["cuda"] == ("OK" if torch.cuda.is_available() else "OPTIONAL")


def test_doctor_strict_fails_on_missing_binaries_and_names_the_fix(tmp_path: Path) -> None:
    empty = tmp_path / "empty-path"
    empty.mkdir()
    done = _doctor("--env", "desktop", "--strict", cwd=tmp_path, env={"PATH": str(empty)})
    assert done.returncode == 1
    assert "MISSING  Xvfb" in done.stdout
    assert "fix: sudo apt-get install xvfb" in done.stdout
    assert "browser" not in done.stdout.splitlines()  # only the desktop area was asked for


def test_doctor_display_ok_on_a_live_x_server(tmp_path: Path) -> None:
    from qwen_gui_agent.envs.desktop.xvfb import VirtualDisplay

    with VirtualDisplay(640, 480) as screen:
        done = _doctor("--env", "desktop", "--json", cwd=tmp_path, env=screen.env)
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert checks["display"]["status"] == "OK"
    assert checks["display"]["detail"] == f"{screen.display} 640x480"


def test_doctor_checks_a_given_model_directory(tmp_path: Path, tiny_model_dir: Path) -> None:
    good = _doctor("--env", "browser", "--json", "--model", str(tiny_model_dir), cwd=tmp_path)
    checks = {c["name"]: c for c in json.loads(good.stdout)}
    assert checks["model files"]["status"] == "OK"
    missing = tmp_path / "no-such-model"
    bad = _doctor("--env", "browser", "--strict", "--model", str(missing), cwd=tmp_path)
    assert bad.returncode == 1
    assert f"MISSING  model files   {missing}: no such folder" in bad.stdout
    empty = tmp_path / "empty-model"
    empty.mkdir()
    bad = _doctor("--env", "browser", "--strict", "--model", str(empty), cwd=tmp_path)
    assert f"MISSING  model files   {empty}: no config.json" in bad.stdout


def test_doctor_shows_the_family_a_checkpoint_resolves_to(
        tmp_path: Path, tiny_family_dir: Any) -> None:
    from qwen_gui_agent.cli.doctor import check_model_family

    done = _doctor("--env", "browser", "--strict", "--model", str(tiny_family_dir("ui-tars")),
                   cwd=tmp_path)
    assert done.returncode == 0, done.stdout
    assert "OK       family        ui-tars (a qwen2_5_vl checkpoint named UI-TARS)" in done.stdout
    assert check_model_family(str(tiny_family_dir("qwen3-vl"))).detail == (
        "qwen3-vl (model_type qwen3_vl)")
    plain = check_model_family(str(tiny_family_dir("qwen2.5-vl")))
    assert plain.detail == ("qwen2.5-vl (model_type qwen2_5_vl; a renamed UI-TARS-1.5 needs "
                            "--family ui-tars)")
    other = tmp_path / "llava"
    other.mkdir()
    (other / "config.json").write_text('{"model_type": "llava"}')
    (other / "model.safetensors").write_bytes(b"")
    undecidable = check_model_family(str(other))
    assert not undecidable.ok and undecidable.label == "MISSING"
    assert undecidable.detail.startswith("cannot tell the model family of a 'llava' checkpoint")
    assert check_model_family(str(tmp_path / "nothing-here")) is None  # model files says why


def test_doctor_lists_the_devices_of_a_running_adb_server(
        tmp_path: Path, adb_server: Any, adb_simulator: Any) -> None:
    port = {"ANDROID_ADB_SERVER_PORT": str(adb_server.port)}
    done = _doctor("--env", "android", "--json", cwd=tmp_path, env=port)
    checks = {c["name"]: c for c in json.loads(done.stdout)}
    assert checks["adb server"]["status"] == "OK"
    assert checks["devices"] == {**checks["devices"], "status": "OK", "detail": adb_simulator.serial}
    adb_server.disconnect(adb_simulator.serial)
    gone = _doctor("--env", "android", "--strict", cwd=tmp_path, env=port)
    assert gone.returncode == 1
    assert "MISSING  devices       none ready" in gone.stdout


def test_live_view_fits_a_narrow_terminal_and_hides_secrets() -> None:
    import io

    from qwen_gui_agent.actions import Drag, Key, TypeText
    from qwen_gui_agent.actions.decision import Decision
    from qwen_gui_agent.agent.loop import StepResult
    from qwen_gui_agent.cli.live import LiveView, describe_action

    assert describe_action(Drag(x=1, y=2, to_x=30, to_y=40)) == "drag (1, 2) -> (30, 40)"
    assert describe_action(Key(keys="ctrl+shift+t")) == "key ctrl+shift+t"
    out = io.StringIO()
    view = LiveView(stream=out, redact=lambda text: text.replace("hunter2", "{PW}"), width=50)
    decision = Decision(actions=(TypeText(text="hunter2 " + "x" * 200),),
                        thought="I will type\nthe password hunter2 " + "and more " * 20)
    view.step(StepResult(index=7, decision=decision, timings={"decide": 1.234, "execute": 0.5}))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(len(line) <= 50 for line in lines)
    assert lines[0].startswith('  7  type "{PW} xxx') and lines[0].endswith("model 1.23s  act 0.50s")
    assert lines[1].startswith("     I will type the password {PW} and more") and lines[1].endswith("...")
    assert "hunter2" not in out.getvalue()


def test_live_view_measures_wide_and_combining_characters_in_terminal_cells() -> None:
    import io

    from qwen_gui_agent.actions import TypeText
    from qwen_gui_agent.actions.decision import Decision
    from qwen_gui_agent.agent.loop import StepResult
    from qwen_gui_agent.cli.live import LiveView, columns, fit

    assert columns("搜索") == 4 and columns("e\u0301") == 1 and columns("abc") == 3
    assert fit("搜索" * 20, 11) == "搜索搜索..." and columns(fit("搜索" * 20, 11)) <= 11
    out = io.StringIO()
    view = LiveView(stream=out, width=60)
    decision = Decision(actions=(TypeText(text="北京天气预报" * 10),), thought="打开浏览器" * 30)
    view.step(StepResult(index=1, decision=decision, timings={"decide": 1.0, "execute": 0.5}))
    lines = out.getvalue().splitlines()
    assert len(lines) == 2 and all(columns(line) <= 60 for line in lines)
    assert lines[0].endswith("model 1.00s  act 0.50s") and columns(lines[0]) == 60


def test_replay_defaults_to_the_recorded_start_page_and_viewport(tmp_path: Path) -> None:
    from qwen_gui_agent.cli.common import env_options_from
    from qwen_gui_agent.cli.parser import build_parser
    from qwen_gui_agent.cli.replay import recorded_browser_options
    from qwen_gui_agent.trajectories import Recorder, load_trajectory

    header = {"task": "t", "env": "browser",
              "env_options": {"url": "http://host/a", "viewport": [800, 600], "headless": True}}
    with Recorder(tmp_path / "run", header):
        pass
    recorded = recorded_browser_options(load_trajectory(tmp_path / "run"))
    assert recorded == {"url": "http://host/a", "viewport": (800, 600)}
    args = build_parser().parse_args(["replay", "run"])
    assert env_options_from(args, "browser", **recorded)["viewport"] == (800, 600)
    args = build_parser().parse_args(["replay", "run", "--viewport", "640x480", "--url", "http://b/"])
    options = env_options_from(args, "browser", **recorded)
    assert options["viewport"] == (640, 480) and options["url"] == "http://b/"
