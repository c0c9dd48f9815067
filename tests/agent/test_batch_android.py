"""Android batch workers on two device simulators behind the real adb server, on a real local
Ray that the batch starts and stops itself (each device a Ray custom resource)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Callable

from fixtures.models import script_texts

from qwen_gui_agent.actions import Click, Terminate, Wait
from qwen_gui_agent.agent.batch import BatchConfig, BatchRunner, TaskSpec
from qwen_gui_agent.trajectories import load_trajectory

SCREEN = (1080, 2400)
MAX_PIXELS = 256 * 28 * 28
TAP = re.compile(r"input tap (\d+) (\d+)")


def test_two_android_workers_never_receive_each_others_taps(
        adb_server: Any, make_adb_simulator: Callable[..., Any], chat_server: Any, tmp_path: Path) -> None:
    sims = {sim.serial: sim for sim in (make_adb_simulator(), make_adb_simulator())}
    points = {f"a{n}": (150 + 120 * n, 700 + 150 * n) for n in range(6)}
    chat_server.script_tasks({
        f"[{task_id}]": script_texts([Click(x=x, y=y), Wait(seconds=0.3), Terminate(status="success")],
                                     screen=SCREEN, env="android", max_pixels=MAX_PIXELS)
        for task_id, (x, y) in points.items()})
    tasks = [TaskSpec(id=task_id, task=f"[{task_id}] tap your spot",
                      env={"app": "Settings"} if task_id == "a0" else {}) for task_id in points]
    config = BatchConfig(kind="android", out=tmp_path / "out", workers=2, serials=list(sims),
                         adb_port=adb_server.port, endpoint=chat_server.base_url, model="tiny",
                         max_pixels=MAX_PIXELS)

    summary = BatchRunner(tasks, config).run()

    assert summary.by_status == {"success": 6}
    ran_on = {}
    for result in summary.results:
        header = load_trajectory(tmp_path / "out" / result.trajectory).header
        ran_on[result.id] = header.env_options["serial"]
        assert result.worker is not None and ran_on[result.id] in result.worker
    assert set(ran_on.values()) == set(sims), "each device should have had tasks"
    for serial, sim in sims.items():
        taps = [(int(x), int(y)) for x, y in TAP.findall("\n".join(sim.commands))]
        tapped = {nearest(points, tap) for tap in taps}
        assert len(taps) == len(tapped), f"{serial} got a tap twice"
        assert tapped == {task_id for task_id, where in ran_on.items() if where == serial}
    settings_device = sims[ran_on["a0"]]
    assert any("monkey -p com.android.settings" in c for c in settings_device.commands)
    other = next(sim for serial, sim in sims.items() if serial != ran_on["a0"])
    assert not any("monkey" in c for c in other.commands)


def nearest(points: dict[str, tuple[int, int]], tap: tuple[int, int]) -> str:
    """The task whose point ``tap`` is (a few pixels of model-frame rounding apart)."""
    task_id, (x, y) = min(points.items(), key=lambda item: abs(item[1][0] - tap[0]) + abs(item[1][1] - tap[1]))
    assert abs(x - tap[0]) <= 6 and abs(y - tap[1]) <= 6, f"tap {tap} is nobody's"
    return task_id
