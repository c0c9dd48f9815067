"""The device simulator as users meet it: through adbutils and the adb command line."""

from __future__ import annotations

import contextlib
import io
import signal
import struct
import subprocess
import sys
import time

import pytest
from PIL import Image

from qwen_gui_agent.envs.android.simulator.screen import BUTTON_COLOURS
from qwen_gui_agent.envs.android.simulator.shell import Shell


def adb(adb_server, *args: str, timeout: float = 20) -> subprocess.CompletedProcess:
    import adbutils

    return subprocess.run([adbutils.adb_path(), "-P", str(adb_server.port), *args],
                          capture_output=True, timeout=timeout)


def test_adbutils_device_api_works(adb_server, adb_simulator):
    device = adb_server.device(adb_simulator.serial)
    assert tuple(device.window_size()) == (1080, 2400)
    adb_simulator.set_rotation(1)
    assert device.rotation() == 1
    assert tuple(device.window_size()) == (2400, 1080)
    assert device.app_current().package == "com.example.simulator"
    assert device.prop.model == "AdbDeviceSimulator"
    assert device.screenshot().size == (2400, 1080)
    assert "com.android.settings" in device.list_packages()


def test_adb_command_line_drives_the_screen(adb_server, adb_simulator):
    x0, y0, x1, y1 = adb_simulator.layout()["B"]
    done = adb(adb_server, "-s", adb_simulator.serial, "shell", "input", "tap",
               str((x0 + x1) // 2), str((y0 + y1) // 2))
    assert done.returncode == 0, done.stderr
    assert adb_simulator.screen.pressed == {"B": 1}
    png = adb(adb_server, "-s", adb_simulator.serial, "exec-out", "screencap", "-p").stdout
    image = Image.open(io.BytesIO(png))
    assert image.size == (1080, 2400)
    assert image.getpixel(((adb_simulator.layout()["A"][0] + 5), adb_simulator.layout()["A"][1] + 5)) \
        == BUTTON_COLOURS["A"]
    assert "exec:screencap '-p'" in adb_simulator.services  # the adb client quotes each word


def test_shell_exit_codes_and_unknown_commands(adb_server, adb_simulator):
    device = adb_server.device(adb_simulator.serial)
    result = device.shell2("frobnicate --now", v2=True)
    assert result.returncode == 127
    assert result.stderr == "/system/bin/sh: frobnicate: inaccessible or not found\n"
    assert device.shell2("false || echo fallback").output == "fallback\n"  # shell v1 path
    done = adb(adb_server, "-s", adb_simulator.serial, "shell", "exit_with_nothing")
    assert done.returncode == 127
    assert device.shell("echo $?") == "0"  # every command gets a new sh
    device.shell("screencap -p /sdcard/shot.png")  # files outlive the shell
    assert adb_simulator.files["/sdcard/shot.png"].startswith(b"\x89PNG")
    assert device.shell("cat /sdcard/missing") == "cat: /sdcard/missing: No such file or directory"


def test_commands_are_logged_exactly_and_parsed_like_sh(adb_server, adb_simulator):
    device = adb_server.device(adb_simulator.serial)
    line = "echo 'single $HOME' \"double $HOME\" \\$x a*t $(echo sub) `echo tick` ~"
    assert device.shell(line) == "single $HOME double / $x acct sub tick /"
    assert adb_simulator.commands[-1] == line
    assert device.shell("echo (oops)").startswith("/system/bin/sh: syntax error")


def test_raw_screencap(adb_server, make_adb_simulator):
    sim = make_adb_simulator(width=40, height=60)
    raw = adb_server.device(sim.serial).shell("screencap", encoding=None)
    width, height, pixel_format, _space = struct.unpack("<4I", raw[:16])
    assert (width, height, pixel_format) == (40, 60, 1)
    assert len(raw) == 16 + 40 * 60 * 4


def test_kill_connection_and_the_server_comes_back(adb_server, adb_simulator):
    device = adb_server.device(adb_simulator.serial)
    assert adb_simulator.kill_connection() == 1
    adb_simulator.connect(adb_server)
    assert device.shell("echo back") == "back"


def test_shell_builtins_and_redirection():
    shell = Shell(lambda argv, stdin: (b"", b"not found\n", 127))
    assert shell.run("echo a > /sdcard/f; cat /sdcard/f; echo b >> /sdcard/f; cat < /sdcard/f") \
        == (b"a\na\nb\n", b"", 0)
    assert shell.run("missing 2>/dev/null; echo $?") == (b"127\n", b"", 0)
    assert shell.run("missing 2>&1 | grep -c found || echo none")[0] == b"1\n"
    assert shell.run("missing 2>/dev/null | grep -c found || echo none")[0] == b"0\nnone\n"
    assert shell.run("echo 'unterminated")[2] == 2


@pytest.mark.parametrize("verbose", [False, True], ids=["quiet", "verbose"])
def test_standalone_simulator_runs_until_interrupted(adb_server, verbose: bool):
    process = subprocess.Popen(
        [sys.executable, "-m", "qwen_gui_agent.envs.android.simulator", "--port", "0",
         "--size", "720x1280", *(["--verbose"] if verbose else [])], stdout=subprocess.PIPE, text=True)
    try:
        banner = process.stdout.readline()
        assert banner.startswith("simulator listening; run: adb connect 127.0.0.1:")
        serial = banner.split()[-1]
        adb_server.connect(serial, timeout=10)
        done = adb(adb_server, "-s", serial, "shell", "wm", "size")
        assert done.stdout.decode().strip() == "Physical size: 720x1280"
        if verbose:  # every command is printed only when asked
            assert process.stdout.readline().strip() == "$ wm size"
    finally:
        adb_server.disconnect(serial)
        process.send_signal(signal.SIGINT)
        rest = process.communicate(timeout=10)[0]
        assert process.returncode == 0
    assert verbose or rest == ""


@pytest.mark.parametrize("bad", ["input tap 1", "input swipe a b c d", "input"])
def test_bad_input_commands_fail_like_the_device(adb_server, adb_simulator, bad):
    result = adb_server.device(adb_simulator.serial).shell2(bad, v2=True)
    assert result.returncode == 1
    assert "Usage: input" in result.stderr


def test_a_private_adb_server_lists_only_the_devices_connected_to_it():
    """An emulator on adb's scan ports (5555-5585; here a simulator on the first free
    one) stays out of a private server, which lists exactly what it was told to connect."""
    from qwen_gui_agent.envs.android.adb_server import private_adb_server
    from qwen_gui_agent.envs.android.simulator import AdbDeviceSimulator

    with contextlib.ExitStack() as stack:
        for port in range(5555, 5586, 2):  # an emulator's adb port is odd: emulator-5554 is 5555
            with contextlib.suppress(OSError):
                stack.enter_context(AdbDeviceSimulator(port=port))
                break
        client = stack.enter_context(private_adb_server())
        deadline = time.monotonic() + 3  # adb scans the emulator ports at start, then every second
        while time.monotonic() < deadline:
            assert client.list() == []
            time.sleep(0.25)
        mine = stack.enter_context(AdbDeviceSimulator())
        mine.connect(client)
        assert [(i.serial, i.state) for i in client.list()] == [(mine.serial, "device")]
        client.disconnect(mine.serial)
