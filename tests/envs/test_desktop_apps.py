"""open_app on a desktop starts only apps the user allowed: the model names one, it never writes a command.

The attacks of issue 15 run through a real DesktopEnv on Xvfb, starting real
processes: a marker file that a command line would create must never appear,
and an allowed app gets exactly the user's arguments, whatever the model wrote.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from qwen_gui_agent.actions.models import OpenApp
from qwen_gui_agent.envs.desktop.apps import AppCatalog, desktop_entries, exec_argv, parse_app_spec
from qwen_gui_agent.envs.desktop.env import DesktopEnv
from qwen_gui_agent.envs.desktop.xvfb import VirtualDisplay
from qwen_gui_agent.errors import ActionError, AppNotAllowed, UnsupportedAction, UsageError

RECORDER = "import json, sys, pathlib; pathlib.Path(sys.argv[1]).write_text(json.dumps(sys.argv[2:]))"
"""A program that writes the arguments it was given into the file named by its first one."""


def recorded_arguments(path: Path, timeout: float = 10.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while not path.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    return json.loads(path.read_text())


def attacks(tmp_path: Path) -> list[str]:
    """What a steered model wrote in the issue, aimed at files under ``tmp_path``."""
    marker, victim = tmp_path / "marker", tmp_path / "victim"
    return [
        f"sh -c 'touch {marker}'",
        f"{sys.executable} -c \"open('{marker}', 'w')\"",
        f"rm -rf {victim}",
        f"touch {marker}",
        f"Recorder; touch {marker}",
        f"Recorder {marker}",
        f"$(touch {marker})",
    ]


@pytest.fixture
def victim(tmp_path: Path) -> Path:
    folder = tmp_path / "victim"
    folder.mkdir()
    (folder / "keep.txt").write_text("still here")
    return folder


def test_without_allowed_apps_open_app_runs_nothing(display_1366x768: VirtualDisplay, tmp_path: Path,
                                                     victim: Path) -> None:
    with DesktopEnv(display=display_1366x768.display) as env:
        assert "open_app" not in env.capabilities and "click" in env.capabilities
        for text in attacks(tmp_path):
            with pytest.raises(UnsupportedAction, match="no apps may be opened by name"):
                env.execute(OpenApp(name=text))
    assert not (tmp_path / "marker").exists() and (victim / "keep.txt").exists()


def test_allowed_app_gets_the_users_arguments_only(display_1366x768: VirtualDisplay, tmp_path: Path,
                                                   victim: Path) -> None:
    out = tmp_path / "argv.json"
    apps = {"Recorder": [sys.executable, "-c", RECORDER, str(out), "--user-flag"]}
    with DesktopEnv(display=display_1366x768.display, apps=apps) as env:
        assert "open_app" in env.capabilities
        for text in attacks(tmp_path):
            with pytest.raises(AppNotAllowed, match="open_app takes one of: Recorder$"):
                env.execute(OpenApp(name=text))
        assert not out.exists()
        outcome = env.execute(OpenApp(name="  recorder "))
        assert outcome.info["app"] == "Recorder"
        assert recorded_arguments(out) == ["--user-flag"]
    assert not (tmp_path / "marker").exists() and (victim / "keep.txt").exists()


def test_installed_entries_open_by_name_without_their_field_codes(
        display_1366x768: VirtualDisplay, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home, system = tmp_path / "home", tmp_path / "system"
    out = tmp_path / "argv.json"
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    write_entry(home / "applications" / "recorder.desktop", "Argument Recorder",
                f"{sys.executable} {script} {out} %U --file=%f --kept")
    write_entry(system / "applications" / "recorder.desktop", "Shadowed Recorder", f"{sys.executable} {script}")
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.setenv("XDG_DATA_DIRS", str(system))
    with DesktopEnv(display=display_1366x768.display, installed_apps=True) as env:
        assert env.apps.labels == ["Argument Recorder"]  # the user's copy hides the system entry
        with pytest.raises(AppNotAllowed):
            env.execute(OpenApp(name=f"Argument Recorder {tmp_path / 'marker'}"))
        env.execute(OpenApp(name="argument recorder"))
        assert recorded_arguments(out) == ["--kept"]
    assert not (tmp_path / "marker").exists()


def test_a_program_removed_after_start_is_an_action_error(display_1366x768: VirtualDisplay,
                                                          tmp_path: Path) -> None:
    program = tmp_path / "tool"
    program.write_text("#!/bin/sh\nexit 0\n")
    program.chmod(0o755)
    with DesktopEnv(display=display_1366x768.display, apps={"Tool": [str(program)]}) as env:
        program.unlink()
        with pytest.raises(ActionError, match="could not start Tool"):
            env.execute(OpenApp(name="Tool"))


def test_display_names_are_checked_before_connecting() -> None:
    for name in (":0; touch /tmp/x", "$(id):0", ":0 :1", "host", ":" + "9" * 50):
        with pytest.raises(UsageError, match="is not an X display name"):
            DesktopEnv(display=name)


# -- the allow-list on its own -----------------------------------------------------------------

def write_entry(path: Path, name: str, exec_line: str, **extra: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["[Desktop Entry]", "Type=Application", f"Name={name}", f"Exec={exec_line}",
             *(f"{k}={v}" for k, v in extra.items()), "[Desktop Action New]", "Name=Other", "Exec=other"]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_matching_is_exact_or_unique() -> None:
    catalog = AppCatalog({"Text Editor": ["sh"], "Terminal": "sh -l", "Image Viewer": ["sh"],
                          "Image Editor": ["sh"]})
    assert catalog.resolve("text editor").label == "Text Editor"
    assert catalog.resolve("TEXT   EDITOR").label == "Text Editor"
    assert catalog.resolve("terminal").argv[1:] == ("-l",)
    assert catalog.resolve("viewer").label == "Image Viewer"  # the one label with that word
    with pytest.raises(AppNotAllowed, match="could be any of: Image Editor, Text Editor"):
        catalog.resolve("editor")
    with pytest.raises(AppNotAllowed, match="open_app takes one of: Image Editor, Image Viewer, Terminal, "
                                            "Text Editor"):
        catalog.resolve("sh")
    with pytest.raises(AppNotAllowed, match="'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx..."):
        catalog.resolve("x" * 10_000)  # a flood of text does not flood the feedback


def test_many_apps_are_offered_by_closeness() -> None:
    catalog = AppCatalog({f"Tool {i}": ["sh"] for i in range(30)} | {"Calculator": ["sh"]})
    with pytest.raises(AppNotAllowed, match="31 apps may be opened, e.g. Calculator"):
        catalog.resolve("calculater")


def test_user_apps_are_checked_at_once() -> None:
    with pytest.raises(UsageError, match="runs 'no-such-program-qga', which is not an installed program"):
        AppCatalog({"Ghost": ["no-such-program-qga"]})
    with pytest.raises(UsageError, match="two apps are named"):
        AppCatalog({"Editor": ["sh"], "editor": ["sh"]})
    with pytest.raises(UsageError, match="needs a command"):
        AppCatalog({"Empty": []})
    with pytest.raises(UsageError, match="unclosed|No closing quotation"):
        AppCatalog({"Broken": "sh -c 'unclosed"})


def test_app_spec_is_split_like_a_shell_would() -> None:
    assert parse_app_spec("Text Editor=gedit --new-window") == ("Text Editor", ["gedit", "--new-window"])
    assert parse_app_spec("Notes = sh -c 'echo a; echo b'") == ("Notes", ["sh", "-c", "echo a; echo b"])
    for bad in ("gedit", "=gedit", "Editor=", "Editor=sh -c 'x"):
        with pytest.raises(UsageError, match="--app"):
            parse_app_spec(bad)


@pytest.mark.parametrize(("value", "argv"), [
    ("gedit %U", ["gedit"]),
    ("gedit --new-window %f", ["gedit", "--new-window"]),
    ('sh -c "echo \\\\$HOME %%" %u', ["sh", "-c", "echo $HOME %"]),
    ("app --icon=%i --name %c %k", ["app", "--name"]),
    ("my\\sapp --x", ["my", "app", "--x"]),  # \s is a space, which then splits
    ("'my app' \"a \\\\\"b\\\\\"\" x\\\\ y", ["my app", 'a "b"', "x y"]),
    ("app %z", None),  # an unknown field code: the entry is unusable
    ("app 'unclosed", None),
    ("%U", None),
])
def test_exec_field_codes_are_removed(value: str, argv: list[str] | None) -> None:
    assert exec_argv(value) == argv


def test_desktop_entries_skip_what_cannot_be_launched(tmp_path: Path) -> None:
    apps = tmp_path / "applications"
    write_entry(apps / "ok.desktop", "Shell", "sh -l %F")
    write_entry(apps / "sub" / "nested.desktop", "Nested Shell", "sh")
    write_entry(apps / "hidden.desktop", "Hidden", "sh", Hidden="true")
    write_entry(apps / "nodisplay.desktop", "No Display", "sh", NoDisplay="true")
    write_entry(apps / "terminal.desktop", "In A Terminal", "sh", Terminal="true")
    write_entry(apps / "missing.desktop", "Missing", "no-such-program-qga")
    write_entry(apps / "tryexec.desktop", "Try Exec", "sh", TryExec="no-such-program-qga")
    (apps / "link.desktop").write_text("[Desktop Entry]\nType=Link\nName=A Link\nURL=https://x.org\n")
    (apps / "huge.desktop").write_text("[Desktop Entry]\nType=Application\nName=Huge\nExec=sh\n#"
                                       + "x" * 100_000)
    found = {app.label: app for app in desktop_entries([apps])}
    assert sorted(found) == ["Nested Shell", "Shell"]
    assert found["Shell"].argv[1:] == ("-l",) and Path(found["Shell"].argv[0]).is_absolute()
    assert found["Shell"].source == str(apps / "ok.desktop")
