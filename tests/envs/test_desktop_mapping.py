"""Screenshot pixel -> input point mapping: monitor origin and HiDPI scale, pure and on a real display."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fixtures.display import ProbeApp

from qwen_gui_agent.actions.models import Click, Drag
from qwen_gui_agent.envs.desktop.env import DesktopEnv, ScreenMapping, wheel_clicks
from qwen_gui_agent.envs.desktop.xvfb import VirtualDisplay
from qwen_gui_agent.errors import OutOfScreen


@pytest.mark.parametrize(("mapping", "pixel", "point"), [
    (ScreenMapping(0, 0), (0, 0), (0, 0)),
    (ScreenMapping(1920, 0), (5, 7), (1925, 7)),
    (ScreenMapping(-1920, -200), (0, 0), (-1920, -200)),  # a monitor left of and above the primary
    (ScreenMapping(-1920, -200), (1919, 1079), (-1, 879)),
    (ScreenMapping(0, 0, 2.0), (401, 3), (200, 1)),  # Retina: two pixels per point
    (ScreenMapping(100, 50, 1.25), (5, 10), (104, 58)),  # 125 % scaling: pixel 5 lies in point 4
    (ScreenMapping(-1440, 0, 2.0), (2879, 1799), (-1, 899)),
])
def test_screen_mapping(mapping: ScreenMapping, pixel: tuple[int, int], point: tuple[int, int]) -> None:
    assert mapping.to_input(*pixel) == point


@pytest.mark.parametrize("scale", [1.0, 1.25, 1.5, 2.0, 3.0])
def test_every_input_point_maps_back_to_a_pixel_inside_it(scale: float) -> None:
    mapping = ScreenMapping(-300, 40, scale)
    for x in range(-300, -100):
        px, _ = mapping.to_screenshot(x, 40)
        assert mapping.to_input(px, 0)[0] == x


@pytest.mark.parametrize(("pixels", "step", "clicks"), [
    (0, 100, 0), (1, 100, 1), (-1, 100, -1), (149, 100, 1), (151, 100, 2), (-300, 100, -3), (300, 50, 6),
])
def test_wheel_clicks(pixels: int, step: int, clicks: int) -> None:
    assert wheel_clicks(pixels, step) == clicks


def test_region_with_a_non_zero_origin(display_1366x768: VirtualDisplay,
                                       tk_probe_app: Callable[[VirtualDisplay], ProbeApp]) -> None:
    """A capture area that starts at (200, 100), like a second monitor: pixels are relative to it."""
    probe = tk_probe_app(display_1366x768)
    region = {"left": 200, "top": 100, "width": 800, "height": 500}
    with DesktopEnv(display=display_1366x768.display, monitor=region) as env:
        observation = env.observe()
        assert (observation.width, observation.height) == (800, 500)
        assert observation.monitor is None and observation.extra["origin"] == [200, 100]
        mx, my, size, _ = probe.layout["marker"]
        pixel = (mx - 200 + size // 2, my - 100 + size // 2)
        assert observation.image.getpixel(pixel) == (255, 0, 0)
        env.execute(Click(x=pixel[0], y=pixel[1]))
        state = probe.wait_for(lambda s: probe.events("release", s), "a click in the region")
        (press,) = probe.events("press", state)
        assert (press["x"], press["y"]) == probe.center("marker")
        with pytest.raises(OutOfScreen, match="800x500"):
            env.execute(Click(x=800, y=10))


def test_explicit_hidpi_scale(display_1366x768: VirtualDisplay,
                              tk_probe_app: Callable[[VirtualDisplay], ProbeApp]) -> None:
    """With scale=2 every screenshot pixel is half an input point (Retina); X11 itself reports 1."""
    probe = tk_probe_app(display_1366x768)
    with DesktopEnv(display=display_1366x768.display) as measured:
        assert measured.scale == 1.0
    with DesktopEnv(display=display_1366x768.display, scale=2.0) as env:
        assert env.scale == 2.0 and env.observe().extra["scale"] == 2.0
        env.execute(Drag(x=401, y=301, to_x=1001, to_y=601, duration=0.05))
        state = probe.wait_for(lambda s: probe.events("release", s), "a drag at scale 2")
        (press,), (release,) = probe.events("press", state), probe.events("release", state)
        assert (press["x"], press["y"], release["x"], release["y"]) == (200, 150, 500, 300)


def test_monitor_choice(display_1366x768: VirtualDisplay) -> None:
    with DesktopEnv(display=display_1366x768.display, monitor=0) as whole:
        assert whole.monitor == 0 and whole.region == {"left": 0, "top": 0, "width": 1366, "height": 768}
    with pytest.raises(ValueError, match=r"monitor 5 does not exist; this desktop has 0: 1366x768\+0\+0"):
        DesktopEnv(display=display_1366x768.display, monitor=5)
    with pytest.raises(ValueError, match="has no area"):
        DesktopEnv(display=display_1366x768.display, monitor={"left": 0, "top": 0, "width": 0, "height": 5})
    with pytest.raises(ValueError, match="not inside the desktop"):
        DesktopEnv(display=display_1366x768.display, monitor={"left": 1000, "top": 0, "width": 400, "height": 5})
    with pytest.raises(ValueError, match="typing must be"):
        DesktopEnv(display=display_1366x768.display, typing="clipboard")  # type: ignore[arg-type]
