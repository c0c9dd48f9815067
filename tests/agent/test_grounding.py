"""Single-shot grounding helpers on a real browser, at two screen sizes."""

from __future__ import annotations

import json
from typing import Any, Callable

import pytest

from qwen_gui_agent.actions.models import Click, Key, Move
from qwen_gui_agent.agent import GroundingError, click, locate, type_into
from qwen_gui_agent.errors import ParseError


@pytest.mark.parametrize("viewport, scale", [((800, 600), 1.0), ((640, 480), 2.0)])
def test_type_into_then_click_fill_and_submit_the_form(
        browser_env: Callable[..., Any], center_of: Any, scripted_policy: Any,
        viewport: tuple[int, int], scale: float) -> None:
    env = browser_env(url="form.html", viewport=viewport, device_scale_factor=scale)
    screen = env.observe().image.size
    assert screen == (round(viewport[0] * scale), round(viewport[1] * scale))
    name, submit = center_of(env, "#name"), center_of(env, "#submit")
    policy = scripted_policy([Click(x=name[0], y=name[1]), Move(x=submit[0], y=submit[1]),
                              Click(x=submit[0], y=submit[1])], screen=screen, env="browser")

    typed_at = type_into(env, policy, "the Name field", "Zed")
    located = locate(env, policy, "the Submit button")  # a hover answer still points
    clicked = click(env, policy, "the Submit button")

    assert abs(typed_at[0] - name[0]) <= 2 and abs(typed_at[1] - name[1]) <= 2
    assert abs(located[0] - submit[0]) <= 2 and abs(located[1] - submit[1]) <= 2
    assert clicked == located
    env.page.wait_for_url("**/result.html*")
    assert env.page.evaluate("window.__submitted")["name"] == "Zed"


def test_an_answer_that_points_nowhere_is_a_grounding_error(
        browser_env: Callable[..., Any], scripted_policy: Any) -> None:
    env = browser_env(url="static.html", viewport=(800, 600))
    policy = scripted_policy([Key(keys=["enter"]), "no idea"], screen=(800, 600), env="browser")

    with pytest.raises(GroundingError, match="'the OK button'.*key") as caught:
        click(env, policy, "the OK button")
    assert "Click on the OK button." in json.dumps(caught.value.decision.prompt)
    with pytest.raises(ParseError):
        locate(env, policy, "the OK button")
    with pytest.raises(ValueError, match="empty"):
        locate(env, policy, "  ")
