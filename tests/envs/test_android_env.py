"""AndroidEnv through the real adb server, against the device simulator."""

from __future__ import annotations

import socket
import threading

import pytest
from fixtures.ports import closed_port

from qwen_gui_agent.actions.models import (
    Click,
    Drag,
    Key,
    LongPress,
    Move,
    Navigate,
    OpenApp,
    Scroll,
    SystemButton,
    TypeText,
    Wait,
)
from qwen_gui_agent.envs import (
    ActionError,
    EnvError,
    OutOfScreen,
    UnsupportedAction,
    make_env,
)
from qwen_gui_agent.envs.android.env import AndroidEnv
from qwen_gui_agent.envs.android.simulator.screen import (
    ADB_KEYBOARD,
    BUTTON_COLOURS,
    DEMO_ACTIVITY,
    HELD_COLOUR,
    LATIN_IME,
    LAUNCHER,
    PRESSED_COLOUR,
    TAP_MARK,
)
from qwen_gui_agent.errors import UsageError

NASTY = "a b&c;d'e\"f%g$(h)|i*j\\k`l`~m<n>o%sp %"


def centre(box: tuple[int, int, int, int]) -> tuple[int, int]:
    return (box[0] + box[2]) // 2, (box[1] + box[3]) // 2


def test_observe_gives_the_screen_and_foreground_activity(android_env, adb_simulator):
    observation = android_env.observe()
    assert observation.image.size == (1080, 2400)
    assert observation.env == "android"
    assert observation.app == "com.example.simulator/com.example.simulator.MainActivity"
    x, y = centre(adb_simulator.layout()["A"])
    assert observation.image.getpixel((x - 100, y)) == BUTTON_COLOURS["A"]
    assert observation.extra["rotation"] == 0


def test_screencap_warning_before_the_png_is_skipped(android_env, adb_simulator, monkeypatch):
    """Devices with several displays print a warning into the exec: stream before the image."""
    render = adb_simulator.screencap_png
    monkeypatch.setattr(adb_simulator, "screencap_png", lambda: (
        b"[Warning] Multiple displays were found, but no display id was specified! ...\n" + render()))
    assert android_env.observe().image.size == (1080, 2400)
    assert sum(service == "exec:screencap -p" for service in adb_simulator.services) == 1


def test_tap_lands_on_the_intended_pixel(android_env, adb_simulator):
    x, y = centre(adb_simulator.layout()["C"])
    outcome = android_env.execute(Click(x=x, y=y))
    assert adb_simulator.screen.pressed == {"C": 1}
    assert adb_simulator.commands[-1] == f"input tap {x} {y}"
    assert outcome.info["input_point"] == [x, y]
    image = android_env.observe().image
    assert image.getpixel((x, y)) == TAP_MARK
    assert image.getpixel((x - 100, y)) == PRESSED_COLOUR


def test_double_click_taps_twice(android_env, adb_simulator):
    x, y = centre(adb_simulator.layout()["D"])
    android_env.execute(Click(x=x, y=y, count=2))
    assert adb_simulator.screen.pressed == {"D": 2}
    assert adb_simulator.commands[-1] == f"input tap {x} {y}; input tap {x} {y}"


def test_long_press_holds_and_a_short_one_does_not(android_env, adb_simulator):
    x, y = centre(adb_simulator.layout()["hold"])
    android_env.execute(LongPress(x=x, y=y, duration=0.2))
    assert adb_simulator.screen.held is False
    android_env.execute(LongPress(x=x, y=y, duration=1.5))
    assert adb_simulator.commands[-1] == f"input swipe {x} {y} {x} {y} 1500"
    assert adb_simulator.screen.held is True
    assert android_env.observe().image.getpixel((x - 100, y)) == HELD_COLOUR


def test_drag_is_a_swipe(android_env, adb_simulator):
    android_env.execute(Drag(x=100, y=1500, to_x=900, to_y=1700, duration=0.4))
    assert adb_simulator.commands[-1] == "input swipe 100 1500 900 1700 400"
    assert adb_simulator.screen.swipes[-1] == (100, 1500, 900, 1700, 400)


def test_scroll_moves_the_finger_against_the_scroll_direction(android_env, adb_simulator):
    x, y = centre(adb_simulator.layout()["list"])
    android_env.execute(Scroll(x=x, y=y, dy=300))
    assert adb_simulator.commands[-1] == f"input swipe {x} {y} {x} {y - 300} 500"
    assert adb_simulator.screen.scroll_offset == 300
    android_env.execute(Scroll(x=x, y=y, dy=-100))
    assert adb_simulator.screen.scroll_offset == 200
    android_env.execute(Scroll(dy=200))  # no point: from the centre of the screen
    assert adb_simulator.commands[-1] == "input swipe 540 1200 540 1000 500"


def test_scroll_that_cannot_move_is_an_error(android_env, adb_simulator):
    with pytest.raises(ActionError, match="leave the screen"):
        android_env.execute(Scroll(x=540, y=0, dy=100))
    assert not any(c.startswith("input") for c in adb_simulator.commands)


def test_settled_observation(android_env):
    assert android_env.observe(settle=True).extra["settled"] is True


def test_nasty_text_arrives_exactly(android_env, adb_simulator):
    android_env.execute(TypeText(text=NASTY))
    assert adb_simulator.screen.text == NASTY
    typed = [c for c in adb_simulator.commands if c.startswith("input text")][0]
    assert typed.startswith("input text 'a%sb&c;d'\"'\"'e")  # spaces as %s, quotes escaped
    assert "; input text s" in typed  # a literal "%s" is split across two calls


def test_newlines_are_enter_key_events(android_env, adb_simulator):
    android_env.execute(TypeText(text="one\ntwo"))
    assert adb_simulator.commands[-1] == \
        "input text one; input keyevent KEYCODE_ENTER; input text two"
    assert adb_simulator.screen.keys == ["KEYCODE_ENTER"]
    assert adb_simulator.screen.text == "onetwo"


def test_non_ascii_goes_through_adbkeyboard_and_the_ime_is_restored(adb_server, make_adb_simulator):
    sim = make_adb_simulator(adbkeyboard=True)
    env = AndroidEnv(sim.serial, adb_port=adb_server.port)
    env.execute(TypeText(text="héllo wörld 你好 ✓"))
    env.execute(TypeText(text=" ok"))
    assert sim.screen.text == "héllo wörld 你好 ✓ ok"
    assert sim.screen.ime == ADB_KEYBOARD
    assert any(c.startswith("am broadcast -a ADB_INPUT_B64 --es msg ") for c in sim.commands)
    env.close()
    assert sim.screen.ime == LATIN_IME


def test_ime_is_reset_when_none_was_recorded(adb_server, make_adb_simulator):
    """`settings get secure default_input_method` says "null" on some devices: close()
    must still take ADBKeyboard away rather than leave the user without a keyboard."""
    sim = make_adb_simulator(adbkeyboard=True)
    del sim.settings["secure"]["default_input_method"]
    with AndroidEnv(sim.serial, adb_port=adb_server.port) as env:
        env.execute(TypeText(text="ü"))
        assert sim.screen.ime == ADB_KEYBOARD
    assert sim.screen.ime == LATIN_IME and sim.commands[-1] == "ime reset"


def test_non_ascii_without_adbkeyboard_is_a_clear_error(android_env, adb_simulator):
    with pytest.raises(ActionError, match="ADBKeyboard") as error:
        android_env.execute(TypeText(text="naïve"))
    assert "adb install" in str(error.value)
    assert adb_simulator.screen.text == ""
    assert not any(c.startswith("input text") for c in adb_simulator.commands)


def test_ime_input_refuses_non_ascii(adb_server, make_adb_simulator):
    sim = make_adb_simulator(adbkeyboard=True)
    with AndroidEnv(sim.serial, adb_port=adb_server.port, ime="input") as env:
        with pytest.raises(ActionError, match="non-ASCII"):
            env.execute(TypeText(text="ü"))
    assert sim.screen.text == ""


def test_key_events_by_name(android_env, adb_simulator):
    android_env.execute(TypeText(text="abc"))
    android_env.execute(Key(keys=["Backspace"]))
    assert adb_simulator.commands[-1] == "input keyevent KEYCODE_DEL"
    assert adb_simulator.screen.text == "ab"
    android_env.execute(Key(keys="ctrl+a"))
    assert adb_simulator.commands[-1] == "input keycombination KEYCODE_CTRL_LEFT KEYCODE_A"
    with pytest.raises(ActionError, match="no key event"):
        android_env.execute(Key(keys=["f20"]))


def test_key_combination_on_a_device_older_than_android_13(android_env, adb_simulator):
    adb_simulator.properties["ro.build.version.sdk"] = "30"
    with pytest.raises(ActionError, match="Android 13"):
        android_env.execute(Key(keys="ctrl+a"))
    android_env.execute(Key(keys=["enter"]))
    assert adb_simulator.screen.keys == ["KEYCODE_ENTER"]


def test_system_buttons(android_env, adb_simulator):
    android_env.execute(SystemButton(button="Back"))
    assert adb_simulator.commands[-1] == "input keyevent KEYCODE_BACK"
    assert android_env.observe().app == "com.android.launcher3/com.android.launcher3.uioverride.QuickstepLauncher"
    android_env.execute(OpenApp(name="com.example.simulator"))
    android_env.execute(SystemButton(button="home"))
    assert adb_simulator.app == LAUNCHER
    android_env.execute(SystemButton(button="enter"))
    assert adb_simulator.screen.keys[-1] == "KEYCODE_ENTER"


def test_open_app_by_label_and_package(android_env, adb_simulator):
    outcome = android_env.execute(OpenApp(name="Settings"))
    assert outcome.info["package"] == "com.android.settings"
    assert adb_simulator.commands[-1] == \
        "monkey -p com.android.settings -c android.intent.category.LAUNCHER 1"
    assert android_env.observe().app == "com.android.settings/com.android.settings.Settings"
    android_env.execute(OpenApp(name="Simulator"))  # the last part of com.example.simulator
    assert adb_simulator.app == DEMO_ACTIVITY
    with pytest.raises(ActionError, match="no installed app is named 'Flappy Bird'"):
        android_env.execute(OpenApp(name="Flappy Bird"))


@pytest.mark.parametrize(("name", "message"), [
    ("com.x; touch /sdcard/pwned", "no installed app is named 'com.x; touch /sdcard/pwned'"),
    ("com.android.setting", "no installed package is named 'com.android.setting'; "
                            "close names: com.android.settings"),
    ("com.android.settings.evil", "no installed package is named"),
    ("android", "no installed app is named 'android'"),  # was: a guess among com.android.*
    ("google", "no installed app is named 'google'"),
    ("Setting", "no installed app is named 'Setting'; close names: settings"),
])
def test_open_app_never_guesses(android_env, adb_simulator, name, message):
    """The issue's attack: a hostile name launched a *different* app. Now nothing is launched."""
    before = adb_simulator.app
    with pytest.raises(ActionError) as error:
        android_env.execute(OpenApp(name=name))
    assert message in str(error.value)
    assert adb_simulator.app == before
    assert not [c for c in adb_simulator.commands if c.startswith("monkey")]
    assert not [c for c in adb_simulator.commands if "touch" in c or "pwned" in c]


def test_device_options_are_checked_before_adb(adb_server):
    for serial in ("emulator-5554; touch /sdcard/pwned", "a b", "$(id)", "x" * 200):
        with pytest.raises(UsageError, match="is not an adb serial"):
            AndroidEnv(serial, adb_port=adb_server.port)
    with pytest.raises(UsageError, match="adb_port must be a TCP port"):
        AndroidEnv("emulator-5554", adb_port=70000)
    with pytest.raises(UsageError, match="timeout"):
        AndroidEnv("emulator-5554", adb_port=adb_server.port, timeout=-1)


def test_navigate_opens_the_url(android_env, adb_simulator):
    android_env.execute(Navigate(url="https://example.com/a?b=1&c=2"))
    assert adb_simulator.screen.url == "https://example.com/a?b=1&c=2"


def test_wait_sleeps(android_env):
    assert android_env.execute(Wait(seconds=0.05)).duration_s >= 0.05


@pytest.mark.parametrize("rotation", [1, 2, 3])
def test_rotated_screen_maps_taps(adb_server, make_adb_simulator, rotation):
    sim = make_adb_simulator(width=720, height=1280, rotation=rotation)
    with AndroidEnv(sim.serial, adb_port=adb_server.port) as env:
        observation = env.observe()
        assert observation.image.size == ((1280, 720) if rotation % 2 else (720, 1280))
        assert observation.extra["rotation"] == rotation
        x, y = centre(sim.layout()["B"])
        env.execute(Click(x=x, y=y))
    assert sim.screen.pressed == {"B": 1}


@pytest.mark.parametrize("rotation", [1, 3])
def test_unrotated_screenshots_are_mapped_back(adb_server, make_adb_simulator, rotation):
    """Devices whose screencap returns the panel unrotated still get the right taps."""
    sim = make_adb_simulator(width=720, height=1280, rotation=rotation, natural_screencap=True)
    with AndroidEnv(sim.serial, adb_port=adb_server.port) as env:
        image = env.observe().image
        assert image.size == (720, 1280)
        # Find button C by its colour in the (unrotated) screenshot and tap its middle.
        pixels = [(x, y) for x in range(0, 720, 8) for y in range(0, 1280, 8)
                  if image.getpixel((x, y)) == BUTTON_COLOURS["C"]]
        xs, ys = [p[0] for p in pixels], [p[1] for p in pixels]
        env.execute(Click(x=(min(xs) + max(xs)) // 2, y=(min(ys) + max(ys)) // 2))
    assert sim.screen.pressed == {"C": 1}


def test_dropped_connection_is_retried_once(android_env, adb_simulator):
    android_env.observe()
    connections = adb_simulator.connections
    adb_simulator.drop_next(1)
    before = len(adb_simulator.commands)
    observation = android_env.observe()
    assert observation.image.size == (1080, 2400)
    assert observation.app == "com.example.simulator/com.example.simulator.MainActivity"
    # screencap and the state query run side by side; the drop cuts whatever was in
    # flight, and each cut call is sent exactly once more
    sent = adb_simulator.commands[before:]
    shots = sent.count("screencap -p")
    assert 3 <= len(sent) <= 4 and 1 <= shots <= 2 and 1 <= len(sent) - shots <= 2
    assert adb_simulator.connections > connections  # it reconnected


def test_lost_device_is_an_env_error(android_env, adb_simulator):
    android_env.observe()
    adb_simulator.online = False
    with pytest.raises(EnvError) as error:
        android_env.execute(Click(x=10, y=100))
    message = str(error.value)
    assert "adb devices" in message and f"adb connect {adb_simulator.serial}" in message


def test_unsupported_and_out_of_screen(android_env, adb_simulator):
    with pytest.raises(UnsupportedAction):
        android_env.execute(Move(x=5, y=5))
    with pytest.raises(UnsupportedAction, match="long_press"):
        android_env.execute(Click(x=5, y=5, button="right"))
    with pytest.raises(OutOfScreen, match="1080x2400"):
        android_env.execute(Click(x=1080, y=10))
    assert not any(c.startswith("input") for c in adb_simulator.commands)


def test_several_devices_need_a_serial(adb_server, make_adb_simulator, monkeypatch):
    monkeypatch.delenv("ANDROID_SERIAL", raising=False)
    first, second = make_adb_simulator(), make_adb_simulator()
    with pytest.raises(UsageError, match="Android devices are connected.*--serial SERIAL") as error:
        AndroidEnv(adb_port=adb_server.port)
    assert first.serial in str(error.value) and second.serial in str(error.value)
    with pytest.raises(EnvError, match="not connected"):
        AndroidEnv("127.0.0.1:1", adb_port=adb_server.port)


def test_env_started_server_is_gone_after_close(make_adb_simulator):
    """With no adb server running, the env starts one and close() kills it."""
    sim = make_adb_simulator()
    port = closed_port()  # no adb server there yet
    env = make_env("android", serial=sim.serial, adb_port=port)
    assert env.observe().image.size == (1080, 2400)
    env.close()
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0
    assert not [t for t in threading.enumerate() if sim.serial in t.name]
    with pytest.raises(EnvError, match="closed"):
        env.observe()
    sim.stop()
    assert sim.threads() == []


def test_device_without_shell_v2(adb_server, make_adb_simulator):
    """Old devices: one output stream, the exit status read back through `echo $?`."""
    sim = make_adb_simulator(shell_v2=False)
    with AndroidEnv(sim.serial, adb_port=adb_server.port) as env:
        env.execute(TypeText(text=NASTY))
        assert sim.screen.text == NASTY
        assert all(service.startswith("shell:") for service in sim.services
                   if not service.startswith("exec:"))
        with pytest.raises(ActionError, match="exit 127"):
            env.shell("no-such-tool")
        assert env.device.serial == sim.serial
