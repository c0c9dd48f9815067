"""DesktopEnv against a real Xvfb and a real Tk window, at 1366x768 and 1920x1080.

Every action is proven by what the probe window recorded (root coordinates of
X events, the entry's text), compared with the screenshot pixel it aimed at.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fixtures.display import ProbeApp, launch_probe
from fixtures.tk_probe import TITLE, WM_CLASS
from PIL import Image, ImageChops

from qwen_gui_agent.actions.models import (
    Click,
    Drag,
    Key,
    LongPress,
    Move,
    Navigate,
    Scroll,
    SystemButton,
    TypeText,
    Wait,
)
from qwen_gui_agent.envs import make_env
from qwen_gui_agent.envs.desktop.env import DRAG_MIN_STEPS, DesktopEnv
from qwen_gui_agent.envs.desktop.xvfb import VirtualDisplay
from qwen_gui_agent.errors import OutOfScreen, UnsupportedAction

UNICODE_TEXT = "héllo wörld — 你好 ✓"
ASCII_TEXT = "Hello, World! 0123 ~`@#$%^&*()_+-={}[]|\\:;\"'<>,.?/"


class Desk:
    """One display with a probe window and a DesktopEnv on it."""

    def __init__(self, display: VirtualDisplay, app: ProbeApp, env: DesktopEnv) -> None:
        self.display, self.app, self.env = display, app, env


@pytest.fixture(scope="module", params=["display_1366x768", "display_1920x1080"])
def desk(request: pytest.FixtureRequest) -> Iterator[Desk]:
    display: VirtualDisplay = request.getfixturevalue(request.param)
    app = launch_probe(display)
    env = make_env("desktop", display=display.display)
    assert isinstance(env, DesktopEnv)
    yield Desk(display, app, env)
    env.close()
    app.close()


@pytest.fixture
def probe(desk: Desk) -> ProbeApp:
    desk.app.reset()
    return desk.app


def find_color(image: Image.Image, rgb: tuple[int, int, int]) -> tuple[int, int, int, int] | None:
    """Bounding box (left, top, right, bottom exclusive) of the pixels of exactly ``rgb``."""
    bands = [band.point(lambda v, want=want: 255 if v == want else 0) for band, want in zip(image.split(), rgb)]
    mask = ImageChops.multiply(ImageChops.multiply(bands[0], bands[1]), bands[2])
    return mask.getbbox()


def marker_in_screenshot(env: DesktopEnv) -> tuple[int, int]:
    """Centre of the probe's red marker, found in the screenshot (screenshot pixels)."""
    box = find_color(env.observe().image, (255, 0, 0))
    assert box is not None, "the red marker is not in the screenshot"
    return (box[0] + box[2]) // 2, (box[1] + box[3]) // 2


def assert_at(event: dict, point: tuple[int, int]) -> None:
    assert abs(event["x"] - point[0]) <= 1 and abs(event["y"] - point[1]) <= 1, (event, point)


def test_observation_matches_the_display(desk: Desk, probe: ProbeApp) -> None:
    observation = desk.env.observe()
    assert (observation.width, observation.height) == (desk.display.width, desk.display.height)
    assert observation.image.mode == "RGB"
    assert observation.env == "desktop" and observation.monitor == 1
    assert observation.title == TITLE and observation.app == WM_CLASS
    assert observation.metadata()["extra"] == {"origin": [0, 0], "scale": 1.0}
    mx, my, size, _ = probe.layout["marker"]
    assert find_color(observation.image, (255, 0, 0)) == (mx, my, mx + size, my + size)


def test_click_lands_on_the_pixel_seen_in_the_screenshot(desk: Desk, probe: ProbeApp) -> None:
    target = marker_in_screenshot(desk.env)
    outcome = desk.env.execute(Click(x=target[0], y=target[1]))
    assert outcome.duration_s >= 0
    state = probe.wait_for(lambda s: len(probe.events("release", s)) == 1, "a click")
    press, release = probe.events("press", state), probe.events("release", state)
    assert len(press) == 1 and press[0]["button"] == 1
    assert_at(press[0], probe.center("marker"))
    assert_at(release[0], probe.center("marker"))
    assert probe.events("double", state) == []


@pytest.mark.parametrize(("count", "kind"), [(2, "double"), (3, "triple")])
def test_multi_click(desk: Desk, probe: ProbeApp, count: int, kind: str) -> None:
    x, y = 150 * count, 90  # a new place each time: Tk would merge clicks from the previous test
    desk.env.execute(Click(x=x, y=y, count=count))
    state = probe.wait_for(lambda s: len(probe.events("release", s)) == count, f"{count} clicks")
    assert [e["button"] for e in probe.events("press", state)] == [1] * count
    assert len(probe.events(kind, state)) == 1
    assert_at(probe.events(kind, state)[0], (x, y))


@pytest.mark.parametrize(("button", "number"), [("right", 3), ("middle", 2)])
def test_other_buttons(desk: Desk, probe: ProbeApp, button: str, number: int) -> None:
    x, y = desk.display.width - 301, desk.display.height - 200
    desk.env.execute(Click(x=x, y=y, button=button))  # type: ignore[arg-type]
    state = probe.wait_for(lambda s: probe.events("release", s), f"a {button} click")
    (press,) = probe.events("press", state)
    assert press["button"] == number
    assert_at(press, (x, y))


def test_drag(desk: Desk, probe: ProbeApp) -> None:
    desk.env.execute(Drag(x=100, y=120, to_x=500, to_y=400, duration=0.1))
    state = probe.wait_for(lambda s: probe.events("release", s), "a drag")
    (press,), (release,) = probe.events("press", state), probe.events("release", state)
    assert_at(press, (100, 120))
    assert_at(release, (500, 400))
    assert state["drag_motions"] >= DRAG_MIN_STEPS - 1, "apps need intermediate motion events"


@pytest.mark.parametrize(("dx", "dy", "expected"), [
    (0, 300, ["down"] * 3), (0, -120, ["up"]), (200, 0, ["right"] * 2), (-40, 0, ["left"]),
])
def test_scroll_direction_and_wheel_clicks(desk: Desk, probe: ProbeApp, dx: int, dy: int, expected: list[str]) -> None:
    x, y = 400, 300
    outcome = desk.env.execute(Scroll(x=x, y=y, dx=dx, dy=dy))
    assert outcome.info["wheel_clicks"] == {"x": len(expected) * (dx > 0) - len(expected) * (dx < 0),
                                           "y": len(expected) * (dy > 0) - len(expected) * (dy < 0)}
    state = probe.wait_for(lambda s: len(probe.events("scroll", s)) >= len(expected), "scroll events")
    scrolls = probe.events("scroll", state)
    assert [e["direction"] for e in scrolls] == expected
    for event in scrolls:
        assert_at(event, (x, y))


def test_typing_ascii(desk: Desk, probe: ProbeApp) -> None:
    x, y = probe.center("entry")
    desk.env.execute(Click(x=x, y=y))
    probe.wait_for(lambda s: s["focus"] == ".!entry", "the entry to take focus")
    desk.env.execute(TypeText(text=ASCII_TEXT))
    probe.wait_for(lambda s: s["entry"] == ASCII_TEXT, "the ASCII text in the entry")


def test_typing_unicode(desk: Desk, probe: ProbeApp) -> None:
    x, y = probe.center("entry")
    desk.env.execute(Click(x=x, y=y))
    probe.wait_for(lambda s: s["focus"] == ".!entry", "the entry to take focus")
    outcome = desk.env.execute(TypeText(text=UNICODE_TEXT))
    assert outcome.info == {"keyboard": "xdotool"}
    probe.wait_for(lambda s: s["entry"] == UNICODE_TEXT, "the Unicode text in the entry")


def test_hotkey_reaches_the_focused_widget(desk: Desk, probe: ProbeApp) -> None:
    x, y = probe.center("entry")
    desk.env.execute(Click(x=x, y=y))
    desk.env.execute(TypeText(text="abc"))
    probe.wait_for(lambda s: s["entry"] == "abc", "typed text")
    desk.env.execute(Key(keys="ctrl+a"))  # Tk's Entry on X11: move to the start of the line
    desk.env.execute(Key(keys=["shift", "x"]))
    state = probe.wait_for(lambda s: s["entry"] == "Xabc", "ctrl+a then shift+x to edit the entry")
    keys = [(e["keysym"], e["modifiers"]) for e in probe.events("key", state)]
    assert ("a", ["ctrl"]) in keys and ("X", ["shift"]) in keys
    desk.env.execute(Key(keys=["ctrl", "shift", "End"]))
    state = probe.wait_for(lambda s: any(e.get("keysym") == "End" for e in s["events"]), "ctrl+shift+End")
    assert [e["modifiers"] for e in probe.events("key", state) if e["keysym"] == "End"] == [["ctrl", "shift"]]


def test_long_press(desk: Desk, probe: ProbeApp) -> None:
    desk.env.execute(LongPress(x=222, y=111, duration=0.4))
    state = probe.wait_for(lambda s: probe.events("release", s), "a long press")
    (press,), (release,) = probe.events("press", state), probe.events("release", state)
    assert_at(press, (222, 111))
    assert_at(release, (222, 111))
    assert release["t"] - press["t"] >= 0.35


def test_move(desk: Desk, probe: ProbeApp) -> None:
    desk.env.execute(Move(x=333, y=244))
    state = probe.wait_for(lambda s: s["pointer"] == [333, 244], "the pointer to move")
    assert probe.events("press", state) == []


def test_wait(desk: Desk) -> None:
    assert desk.env.execute(Wait(seconds=0.05)).duration_s >= 0.05


def test_settle_tells_static_from_animated(desk: Desk, probe: ProbeApp) -> None:
    assert desk.env.observe(settle=True).extra["settled"] is True
    probe.command("animate on")
    desk.env.settle_timeout = 0.6
    try:
        assert desk.env.observe(settle=True).extra["settled"] is False
    finally:
        del desk.env.settle_timeout
        probe.command("animate off")


def test_unsupported_actions(desk: Desk) -> None:
    for action in (Navigate(url="https://example.org"), SystemButton(button="back")):
        with pytest.raises(UnsupportedAction, match="desktop env cannot perform"):
            desk.env.execute(action)


def test_out_of_screen(desk: Desk, probe: ProbeApp) -> None:
    width, height = desk.display.width, desk.display.height
    for action in (Click(x=width, y=0), Click(x=0, y=height), Drag(x=1, y=1, to_x=width + 5, to_y=1),
                   Scroll(x=width, y=1, dy=100)):
        with pytest.raises(OutOfScreen, match=f"{width}x{height}"):
            desk.env.execute(action)
    assert probe.events() == [], "nothing may happen on a rejected action"
