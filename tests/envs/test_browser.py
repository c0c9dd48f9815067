"""BrowserEnv input and observation, against real headless Chromium on 127.0.0.1.

Every input test runs at device scale factor 1 and 2: actions carry screenshot
pixels, and ``tests/fixtures/pages/probe.html`` logs the CSS coordinates the
page actually received (``window.__events``).
"""

from __future__ import annotations

import threading
import time
from typing import Any

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
    Outcome,
    OutOfScreen,
    UnsupportedAction,
)
from qwen_gui_agent.envs.browser.env import BrowserEnv


@pytest.fixture(scope="module", params=[1, 2], ids=["dsf1", "dsf2"])
def env(request: pytest.FixtureRequest, browser_env_module: Any) -> BrowserEnv:
    return browser_env_module(url="probe.html", viewport=(800, 600), device_scale_factor=request.param)


@pytest.fixture
def probe(env: BrowserEnv, page_server: Any) -> BrowserEnv:
    """The env on a fresh probe page, extra tabs closed, event log empty."""
    for page in env.context.pages[:-1]:
        page.close()
    env.execute(Navigate(url=page_server.url("probe.html")))
    env.page.evaluate("window.__reset()")
    return env


def events(env: BrowserEnv, *types: str) -> list[dict[str, Any]]:
    return [e for e in env.page.evaluate("window.__events") if not types or e["type"] in types]


def dsf(env: BrowserEnv) -> int:
    return int(env.device_scale_factor)


def reported(env: BrowserEnv, outcome: Outcome, key: str, timeout: float = 10.0) -> Any:
    """``key`` from the action's Outcome, or else from what the env reports next.

    A new tab or a download may start after the action returned (Chromium does
    it asynchronously); the env then reports it once, in a later Outcome or
    Observation. Waiting goes through the env, like an agent's next step.
    """
    if key in outcome.info:
        return outcome.info[key]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        later = env.execute(Wait(seconds=0.05))
        if key in later.info:
            return later.info[key]
        obs = env.observe()
        if key in obs.extra:
            return obs.extra[key]
    raise AssertionError(f"the env never reported {key!r}")


def test_screenshot_is_in_device_pixels(probe: BrowserEnv, page_server: Any) -> None:
    obs = probe.observe()
    assert (obs.width, obs.height) == (800 * dsf(probe), 600 * dsf(probe))
    assert obs.env == "browser"
    assert obs.url == page_server.url("probe.html")
    assert obs.title == "Probe"
    assert obs.app is None
    assert obs.extra["tabs"] == 1
    assert obs.extra["device_scale_factor"] == dsf(probe)


@pytest.mark.parametrize("point", [(0, 0), (300, 250), (799, 599), (123, 457)])
def test_click_lands_on_the_css_pixel(probe: BrowserEnv, point: tuple[int, int]) -> None:
    scale = dsf(probe)
    x, y = point[0] * scale + scale - 1, point[1] * scale  # any device pixel inside the CSS pixel
    probe.execute(Click(x=x, y=y))
    (click,) = events(probe, "click")
    assert abs(click["x"] - x / scale) <= 1 and abs(click["y"] - y / scale) <= 1
    assert click["button"] == 0 and click["detail"] == 1


def test_click_found_in_the_screenshot_hits_the_button(probe: BrowserEnv) -> None:
    """Vision round trip: locate the red button in the screenshot, click its centre.

    The centre may be a glyph of the label, depending on the installed fonts, so
    the check afterwards reads the pixels that were the button's plain red
    background (a glyph pixel is never exactly #c33), not the centre.
    """
    image = probe.observe().image.convert("RGB")
    red = [(x, y) for x in range(0, image.width, 2) for y in range(0, image.height // 2, 2)
           if image.getpixel((x, y)) == (0xCC, 0x33, 0x33)]
    assert red, "the red button is not in the screenshot"
    cx = (min(p[0] for p in red) + max(p[0] for p in red)) // 2
    cy = (min(p[1] for p in red) + max(p[1] for p in red)) // 2
    probe.execute(Click(x=cx, y=cy))
    assert probe.page.text_content("#status") == "clicked"
    after = probe.observe().image.convert("RGB")
    # now green (#3a3, give or take a hover tint)
    assert all(g > 150 and r < 100 and b < 100 for r, g, b in map(after.getpixel, red))


def test_double_and_right_click(probe: BrowserEnv) -> None:
    scale = dsf(probe)
    probe.execute(Click(x=500 * scale, y=300 * scale, count=2))
    (dbl,) = events(probe, "dblclick")
    assert (dbl["x"], dbl["y"], dbl["detail"]) == (500, 300, 2)
    probe.execute(Click(x=600 * scale, y=350 * scale, button="right"))
    (menu,) = events(probe, "contextmenu")
    assert (menu["x"], menu["y"], menu["button"]) == (600, 350, 2)
    probe.execute(Click(x=610 * scale, y=360 * scale, button="middle"))
    assert [e["button"] for e in events(probe, "auxclick")] == [2, 1]


def test_drag_moves_with_the_button_down(probe: BrowserEnv) -> None:
    scale = dsf(probe)
    probe.execute(Drag(x=100 * scale, y=250 * scale, to_x=400 * scale, to_y=450 * scale, duration=0.1))
    (drag,) = events(probe, "drag")
    assert (drag["x0"], drag["y0"], drag["x1"], drag["y1"]) == (100, 250, 400, 450)
    assert drag["moves"] >= 5


def test_long_press_holds_the_button(probe: BrowserEnv) -> None:
    scale = dsf(probe)
    probe.execute(LongPress(x=300 * scale, y=300 * scale, duration=0.3))
    down, up = events(probe, "mousedown", "mouseup")
    assert (down["x"], down["y"], up["x"], up["y"]) == (300, 300, 300, 300)
    assert up["t"] - down["t"] >= 250


def test_move_hovers(probe: BrowserEnv) -> None:
    scale = dsf(probe)
    probe.execute(Move(x=321 * scale, y=123 * scale))
    assert probe.page.evaluate("window.__lastMove") == {"x": 321, "y": 123}
    assert events(probe, "mousedown") == []


def test_wheel_scrolls_both_ways(probe: BrowserEnv) -> None:
    scale = dsf(probe)
    probe.execute(Scroll(x=400 * scale, y=300 * scale, dy=600))
    wheel = events(probe, "wheel")[-1]
    assert (wheel["x"], wheel["y"]) == (400, 300) and wheel["deltaY"] > 0
    # 600 screenshot px of content moved past: 600 / dsf CSS px.
    assert abs(probe.page.evaluate("scrollY") - 600 / scale) <= 2
    probe.execute(Scroll(dy=-200))  # at the pointer's last position
    wheel = events(probe, "wheel")[-1]
    assert (wheel["x"], wheel["y"]) == (400, 300) and wheel["deltaY"] < 0
    assert abs(probe.page.evaluate("scrollY") - 400 / scale) <= 2
    probe.execute(Scroll(dx=300))
    assert abs(probe.page.evaluate("scrollX") - 300 / scale) <= 2
    probe.execute(Scroll(dx=-300))
    assert probe.page.evaluate("scrollX") == 0


def test_typing_ascii_and_unicode(probe: BrowserEnv) -> None:
    scale = dsf(probe)
    probe.execute(Click(x=100 * scale, y=30 * scale))  # #field
    text = "Hello, world! 123 @#$%^&*()_+ ~"
    probe.execute(TypeText(text=text))
    assert probe.page.input_value("#field") == text
    assert len(events(probe, "keydown")) == len(text)  # real key events, not just a value change
    probe.execute(Click(x=100 * scale, y=100 * scale))  # #area
    unicode = "héllo wörld ñ 日本語 Ελληνικά 😀 👍🏽"
    probe.execute(TypeText(text=unicode))
    assert probe.page.input_value("#area") == unicode


def test_key_chords_and_single_keys(probe: BrowserEnv) -> None:
    scale = dsf(probe)
    probe.execute(Click(x=100 * scale, y=30 * scale))
    probe.execute(Key(keys=["ctrl", "shift", "t"]))
    downs = events(probe, "keydown")
    assert [e["key"] for e in downs] == ["Control", "Shift", "T"]
    assert downs[-1]["ctrl"] and downs[-1]["shift"] and not downs[-1]["alt"]
    assert [e["key"] for e in events(probe, "keyup")] == ["T", "Shift", "Control"]
    probe.execute(TypeText(text="abc"))
    probe.execute(Key(keys="Control+A"))
    probe.execute(Key(keys=["BackSpace"]))
    assert probe.page.input_value("#field") == ""
    probe.execute(Key(keys="é"))  # no physical key: entered as text
    probe.execute(Key(keys="shift+x"))
    assert probe.page.input_value("#field") == "éX"
    probe.page.evaluate("window.__reset()")
    probe.execute(Key(keys=["enter"]))
    probe.execute(Key(keys="Escape"))
    probe.execute(Key(keys="arrowup"))
    probe.execute(Key(keys="F5"))
    assert [e["key"] for e in events(probe, "keydown")] == ["Enter", "Escape", "ArrowUp", "F5"]


def test_every_mapped_key_reaches_the_page(probe: BrowserEnv) -> None:
    from qwen_gui_agent.envs.browser.keys import PLAYWRIGHT_KEYS

    names = sorted(set(PLAYWRIGHT_KEYS) - {"ctrl", "alt", "shift", "super"})
    for name in names:
        probe.execute(Key(keys=[name]))
    expected = [" " if name == "space" else PLAYWRIGHT_KEYS[name] for name in names]
    assert [e["key"] for e in events(probe, "keydown")] == expected


def test_keys_a_page_does_not_have(probe: BrowserEnv) -> None:
    with pytest.raises(UnsupportedAction, match="no 'power' key"):
        probe.execute(Key(keys=["power"]))
    with pytest.raises(UnsupportedAction, match="type it instead"):
        probe.execute(Key(keys=["ctrl", "é"]))
    assert events(probe, "keydown") == []


def test_navigate_back_and_status(probe: BrowserEnv, page_server: Any) -> None:
    outcome = probe.execute(Navigate(url=page_server.url("form.html")))
    assert outcome.info == {"url": page_server.url("form.html"), "status": 200}
    assert probe.observe().title == "Form"
    missing = probe.execute(Navigate(url=page_server.url("missing.html")))
    assert missing.info["status"] == 404  # a page that says 404 is still a page
    probe.execute(SystemButton(button="back"))
    probe.execute(SystemButton(button="back"))
    assert probe.observe().url == page_server.url("probe.html")


def test_navigate_without_scheme_to_loopback(probe: BrowserEnv, page_server: Any) -> None:
    outcome = probe.execute(Navigate(url=f"127.0.0.1:{page_server.port}/static.html"))
    assert outcome.info["url"] == page_server.url("static.html")


def test_navigation_error_is_an_action_error(probe: BrowserEnv, page_server: Any) -> None:
    port = closed_port()
    with pytest.raises(ActionError, match=r"could not open http://127\.0\.0\.1:\d+/x: net::ERR_CONNECTION_REFUSED"):
        probe.execute(Navigate(url=f"http://127.0.0.1:{port}/x"))
    assert probe.observe().title is not None  # the env is still usable


def test_form_filled_by_vision_steps_and_submitted(probe: BrowserEnv, page_server: Any) -> None:
    probe.execute(Navigate(url=page_server.url("form.html")))
    box = probe.page.locator("#name").bounding_box()
    assert box is not None
    scale = dsf(probe)
    probe.execute(Click(x=int((box["x"] + 10) * scale), y=int((box["y"] + 10) * scale)))
    probe.execute(TypeText(text="Zoë Ødegaard"))
    probe.execute(Key(keys="tab"))
    probe.execute(TypeText(text="zoe@example.com\n"))  # newline presses Enter: submits
    probe.page.wait_for_url("**/result.html*")
    assert probe.page.evaluate("window.__submitted") == {
        "name": "Zoë Ødegaard", "email": "zoe@example.com", "color": "red",
    }


def test_new_tab_is_followed(probe: BrowserEnv, page_server: Any) -> None:
    probe.execute(Navigate(url=page_server.url("links.html")))
    scale = dsf(probe)
    first = probe.page
    outcome = probe.execute(Click(x=60 * scale, y=40 * scale))  # #newtab
    assert reported(probe, outcome, "new_page") in ("about:blank", page_server.url("probe.html"))
    assert probe.page is not first
    probe.page.wait_for_load_state()
    obs = probe.observe()
    assert obs.extra["tabs"] == 2 and obs.url == page_server.url("probe.html")
    probe.execute(Click(x=10 * scale, y=400 * scale))  # actions go to the new tab
    assert len(events(probe, "click")) == 1
    assert first.evaluate("typeof window.__events") == "undefined"


def test_popup_is_followed_and_closing_it_returns(probe: BrowserEnv, page_server: Any) -> None:
    probe.execute(Navigate(url=page_server.url("links.html")))
    scale = dsf(probe)
    outcome = probe.execute(Click(x=60 * scale, y=100 * scale))  # #popup: window.open(form.html)
    reported(probe, outcome, "new_page")
    probe.page.wait_for_load_state()
    obs = probe.observe()
    assert obs.title == "Form" and obs.extra["tabs"] == 2
    probe.page.close()
    obs = probe.observe()
    assert obs.title == "Links" and obs.extra["tabs"] == 1 and obs.extra["new_page"] == obs.url


def test_a_tab_that_closes_itself_is_no_error(probe: BrowserEnv, page_server: Any) -> None:
    first = probe.page
    closer = probe.context.new_page()
    closer.set_content("<button onclick='window.close()' style='position:fixed;inset:0'>close</button>")
    assert probe.page is closer
    outcome = probe.execute(Click(x=10, y=10))
    assert reported(probe, outcome, "new_page") == first.url
    assert probe.page is first and probe.observe().extra["tabs"] == 1


def test_dialog_is_dismissed_and_reported(probe: BrowserEnv, page_server: Any) -> None:
    probe.execute(Navigate(url=page_server.url("links.html")))
    outcome = probe.execute(Click(x=60 * dsf(probe), y=340 * dsf(probe)))  # #alert
    assert reported(probe, outcome, "dialogs") == [{"type": "alert", "message": "Saved!"}]
    assert probe.page.text_content("#after") == "after alert"  # the page went on


@pytest.mark.parametrize(("y", "name", "content"), [
    (160, "report.txt", "quarterly report: all good\n"),  # <a download>
    (220, "data.csv", "id,value\n1,alpha\n2,beta\n"),  # Content-Disposition: attachment
])
def test_clicked_download_is_saved(probe: BrowserEnv, page_server: Any, y: int, name: str, content: str) -> None:
    probe.execute(Navigate(url=page_server.url("links.html")))
    before = len(probe.downloads)
    outcome = probe.execute(Click(x=60 * dsf(probe), y=y * dsf(probe)))
    (saved,) = reported(probe, outcome, "downloads")
    path = probe.downloads[before]
    assert str(path) == saved and path.parent == probe.downloads_dir
    assert path.name.startswith(name.split(".")[0]) and path.suffix == "." + name.split(".")[1]
    assert path.read_text() == content


def test_navigating_to_a_download_saves_it(probe: BrowserEnv, page_server: Any) -> None:
    outcome = probe.execute(Navigate(url=page_server.url("download/data.csv")))
    (saved,) = outcome.info["downloads"]
    assert open(saved).read() == "id,value\n1,alpha\n2,beta\n"
    assert probe.observe().title == "Probe"  # the page stayed where it was


def test_settle_waits_for_a_static_page_and_gives_up_on_animation(probe: BrowserEnv, page_server: Any) -> None:
    probe.settle_timeout = 1.5
    try:
        probe.execute(Navigate(url=page_server.url("static.html")))
        assert probe.observe(settle=True).extra["settled"] is True
        assert "settled" not in probe.observe().extra
        probe.execute(Navigate(url=page_server.url("animated.html")))
        assert probe.observe(settle=True).extra["settled"] is False
    finally:
        del probe.settle_timeout


def test_wait_waits(probe: BrowserEnv) -> None:
    outcome = probe.execute(Wait(seconds=0.2))
    assert outcome.duration_s >= 0.2


def test_unsupported_and_out_of_screen(probe: BrowserEnv) -> None:
    with pytest.raises(UnsupportedAction, match="cannot perform 'open_app'"):
        probe.execute(OpenApp(name="Calculator"))
    with pytest.raises(UnsupportedAction, match="no 'home' button"):
        probe.execute(SystemButton(button="home"))
    width, height = 800 * dsf(probe), 600 * dsf(probe)
    for action in (Click(x=width, y=10), Click(x=10, y=height),
                   Drag(x=10, y=10, to_x=10, to_y=height + 5), Scroll(x=width + 1, y=0, dy=10)):
        with pytest.raises(OutOfScreen, match=f"outside the {width}x{height} screenshot"):
            probe.execute(action)
    assert events(probe) == []  # nothing reached the page


def test_use_from_another_thread_is_refused(probe: BrowserEnv) -> None:
    errors: list[BaseException] = []
    thread = threading.Thread(target=lambda: _capture_error(probe.observe, errors))
    thread.start()
    thread.join()
    assert len(errors) == 1 and isinstance(errors[0], EnvError)
    assert "thread that created it" in str(errors[0])
    assert probe.observe().width == 800 * dsf(probe)


def _capture_error(call: Any, errors: list[BaseException]) -> None:
    try:
        call()
    except BaseException as exc:  # noqa: BLE001 (handed to the test thread)
        errors.append(exc)
