"""The README's Android commands, run as written: the simulator, ``adb connect``, ``qwen-agent run``.

Two changes only, so the test cannot touch what a user already has: the ports
(a free one for the simulator, the session's private adb server instead of
5037) and the model (the scripted chat server instead of real weights).
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from fixtures.models import script_texts
from fixtures.ports import closed_port

from qwen_gui_agent.actions import Click, Terminate
from qwen_gui_agent.envs.android.simulator.screen import layout

sys.path.insert(0, str(Path(__file__).parent))
from cli_helpers import EXIT, qwen_agent  # noqa: E402

README = Path(__file__).resolve().parents[2] / "README.md"
SCREEN = (1080, 2400)


def test_the_readme_android_commands_work_as_written(adb_server: Any, chat_server: Any,
                                                     tmp_path: Path) -> None:
    commands = re.search(r"```bash\n(python -m qwen_gui_agent\.envs\.android\.simulator.*?)```",
                         README.read_text(encoding="utf-8"), re.S).group(1).splitlines()
    assert commands[0] == "python -m qwen_gui_agent.envs.android.simulator &"
    assert commands[1] == "adb connect 127.0.0.1:6520"
    assert commands[2].startswith('qwen-agent run "Tap the blue button" --env android '
                                  "--serial 127.0.0.1:6520")
    adb = shutil.which("adb")
    assert adb is not None, "adb is not on PATH: scripts/setup.sh links adbutils' adb into the venv"
    port = closed_port()
    simulator = subprocess.Popen([sys.executable, "-m", "qwen_gui_agent.envs.android.simulator",
                                  "--port", str(port), "--verbose"], stdout=subprocess.PIPE, text=True)
    serial = f"127.0.0.1:{port}"
    try:
        assert simulator.stdout is not None
        assert simulator.stdout.readline().strip() == f"simulator listening; run: adb connect {serial}"
        connected = subprocess.run([adb, "-P", str(adb_server.port), "connect", serial],
                                   capture_output=True, text=True, timeout=30)
        assert connected.returncode == 0 and "connected to" in connected.stdout, connected
        left, top, right, bottom = layout(*SCREEN)["C"]  # the blue button
        x, y = (left + right) // 2, (top + bottom) // 2
        chat_server.script(script_texts([Click(x=x, y=y), Terminate(status="success")],
                                        screen=SCREEN, env="android"))
        done = qwen_agent("run", "Tap the blue button", "--env", "android", "--serial", serial,
                          "--adb-port", str(adb_server.port), "--endpoint", chat_server.base_url,
                          "--model", "tiny", "--no-record", cwd=tmp_path)
        assert done.returncode == EXIT["success"], done.stderr
    finally:
        adb_server.disconnect(serial)
        simulator.terminate()
        printed = simulator.communicate(timeout=10)[0]
    taps = re.findall(r"^\$ input tap (\d+) (\d+)$", printed, re.M)
    assert len(taps) == 1
    tap = tuple(map(int, taps[0]))
    assert left <= tap[0] < right and top <= tap[1] < bottom
