"""The package as a user installs it: one top-level name, cheap imports, the entry points."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "pyautogui", "mss", "playwright", "adbutils", "Xlib", "ray", "rich")
SUBPACKAGES = (
    "actions", "envs", "envs.desktop", "envs.browser", "envs.android", "envs.android.simulator",
    "model", "agent", "agent.evaluation", "agent.batch", "trajectories", "cli",
)


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_wheel_installs_exactly_one_top_level_name(tmp_path: Path) -> None:
    # Built from a copy: setuptools writes build/ and *.egg-info next to the sources.
    source = tmp_path / "src"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".pkg", "__pycache__", "build", "*.egg-info", "runs", ".pytest_cache", ".hypothesis"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(tmp_path), str(source)],
        check=True, capture_output=True, timeout=300,
    )
    (wheel,) = tmp_path.glob("qwen_gui_agent-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    top_level = {name.split("/")[0] for name in names}
    metadata = {name for name in top_level if name.endswith(".dist-info")}
    assert top_level - metadata == {"qwen_gui_agent"}
    assert len(metadata) == 1
    for sub in SUBPACKAGES:
        assert f"qwen_gui_agent/{sub.replace('.', '/')}/__init__.py" in names
    assert "qwen_gui_agent/trajectories/report_template.html" in names
    assert not any(name.startswith(("qwen_gui_agent/tests/", "qwen_gui_agent/examples/"))
                   for name in names)
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "qwen-agent = qwen_gui_agent.cli:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_importing_every_subpackage_loads_no_heavy_library() -> None:
    imports = "; ".join(f"import qwen_gui_agent.{sub}" for sub in SUBPACKAGES)
    result = _python(
        f"import sys, qwen_gui_agent; {imports}; import qwen_gui_agent.cli.parser\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_lazy_top_level_names_resolve() -> None:
    result = _python(
        "import qwen_gui_agent as q\n"
        "print(q.Agent.__name__, q.RunResult.__name__, q.make_env.__name__, q.load_trajectory.__name__)"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["Agent", "RunResult", "make_env", "load_trajectory"]


def test_module_and_console_script_are_the_same_command() -> None:
    from qwen_gui_agent.version import __version__

    as_module = subprocess.run([sys.executable, "-m", "qwen_gui_agent", "--version"],
                               capture_output=True, text=True, timeout=60)
    script = Path(sys.executable).with_name("qwen-agent")
    as_script = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60)
    assert as_module.returncode == as_script.returncode == 0, as_module.stderr + as_script.stderr
    assert __version__ in as_module.stdout
    assert as_module.stdout == as_script.stdout
