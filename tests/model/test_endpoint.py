"""OpenAIPolicy against a real HTTP server on 127.0.0.1 that runs the tiny model."""

from __future__ import annotations

import base64
import io
import json
import time

import pytest
from fixtures.ports import closed_port
from PIL import Image

from qwen_gui_agent.actions import Click, Frame, SystemButton, parse_response
from qwen_gui_agent.actions.decision import HistoryEntry
from qwen_gui_agent.actions.observation import Observation
from qwen_gui_agent.errors import (
    DataError,
    EndpointError,
    EndpointTimeout,
    EndpointUnavailable,
    ParseError,
)
from qwen_gui_agent.model import OpenAIPolicy
from qwen_gui_agent.model.endpoint import message_text
from qwen_gui_agent.model.forcing import tool_call_text


def _obs(width: int, height: int, env: str = "desktop") -> Observation:
    image = Image.new("RGB", (width, height), (250, 250, 250))
    image.paste((200, 30, 30), (10, 10, width // 3, height // 3))
    return Observation(image=image, env=env)


def _click_text(frame: Frame, x: int, y: int, tool: str = "computer_use") -> str:
    mx, my = frame.to_model(x, y)
    name = "left_click" if tool == "computer_use" else "click"
    return tool_call_text({"name": tool, "arguments": {"action": name, "coordinate": [mx, my]}})


def test_decision_through_the_server(chat_server) -> None:
    screen = (1366, 768)
    frame = Frame(*screen)
    raw = _click_text(frame, 700, 400)
    chat_server.script([raw])
    policy = OpenAIPolicy(chat_server.base_url, "tiny-qwen", api_key="secret-key", max_tokens=80)
    decision = policy.decide("press the button", _obs(*screen),
                             [HistoryEntry(actions=[Click(x=5, y=5)], screen_size=screen)])
    assert decision.raw == raw
    assert decision.action == Click(x=frame.to_screen(*frame.to_model(700, 400))[0],
                                    y=frame.to_screen(*frame.to_model(700, 400))[1])
    assert abs(decision.action.x - 700) <= 1 and abs(decision.action.y - 400) <= 1
    request = chat_server.requests[-1]
    assert request["path"] == "/v1/chat/completions"
    assert request["headers"]["Authorization"] == "Bearer secret-key"
    body = request["body"]
    assert body["model"] == "tiny-qwen" and body["max_tokens"] == 80
    user = body["messages"][1]["content"]
    assert user[0]["text"].startswith("The user query:  press the button\n")
    assert user[-1]["type"] == "image_url"
    assert user[-1]["image_url"]["url"].startswith("data:image/png;base64,")
    # The server got the image at model size and its own processor kept it there.
    assert chat_server.images[-1].size == frame.model_size
    assert chat_server.image_tokens == [frame.image_tokens]
    assert decision.prompt_tokens is not None and decision.prompt_tokens > frame.image_tokens
    assert decision.output_tokens == len(chat_server.processor.tokenizer.encode(raw)) + 1
    assert decision.timings["generate"] > 0


def test_png_is_lossless_and_jpeg_is_smaller(chat_server) -> None:
    screen = (640, 480)
    chat_server.script([_click_text(Frame(*screen), 1, 1)] * 2)
    obs = _obs(*screen)
    OpenAIPolicy(chat_server.base_url, "m").decide("t", obs, [])
    OpenAIPolicy(chat_server.base_url, "m", image_format="jpeg").decide("t", obs, [])
    png_url, jpeg_url = (r["body"]["messages"][1]["content"][-1]["image_url"]["url"]
                         for r in chat_server.requests)
    assert jpeg_url.startswith("data:image/jpeg;base64,")
    png = Image.open(io.BytesIO(base64.b64decode(png_url.split(",", 1)[1])))
    expected = obs.image.resize(Frame(*screen).model_size, Image.Resampling.BICUBIC)
    assert png.tobytes() == expected.tobytes()
    assert len(jpeg_url) < len(png_url) or len(jpeg_url) < 20000


def test_mobile_prompt_and_answer(chat_server) -> None:
    screen = (1080, 2400)
    chat_server.script([tool_call_text({"name": "mobile_use", "arguments": {
        "action": "system_button", "button": "Back"}})])
    decision = OpenAIPolicy(chat_server.base_url + "/v1/", "m").decide(
        "go back", _obs(*screen, "android"), [])
    assert decision.action == SystemButton(button="back")
    assert '"name": "mobile_use"' in chat_server.requests[-1]["body"]["messages"][0]["content"][0]["text"]
    assert chat_server.image_tokens == [Frame(*screen).image_tokens]


def test_retries_after_503(chat_server) -> None:
    screen = (560, 560)
    chat_server.script([_click_text(Frame(*screen), 100, 100)])
    chat_server.fail_next(503)
    policy = OpenAIPolicy(chat_server.base_url, "m", max_retries=2, backoff=0.01)
    decision = policy.decide("t", _obs(*screen), [])
    assert decision.action == Click(x=100, y=100)
    assert len(chat_server.requests) == 2


@pytest.mark.parametrize("status", [408, 429])
def test_rate_limit_and_request_timeout_are_retried(chat_server, status: int) -> None:
    screen = (560, 560)
    chat_server.script([_click_text(Frame(*screen), 100, 100)])
    chat_server.fail_next(status)
    policy = OpenAIPolicy(chat_server.base_url, "m", max_retries=1, backoff=0.01)
    assert policy.decide("t", _obs(*screen), []).action == Click(x=100, y=100)
    assert len(chat_server.requests) == 2


CALL = {"name": "computer_use", "arguments": '{"action": "left_click", "coordinate": [5, 6]}'}


@pytest.mark.parametrize(
    ("message", "text"),
    [
        ({"content": "plain"}, "plain"),
        ({"content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}, "ab"),
        # a server with a tool-call parser moved the call out of the content
        ({"content": None, "tool_calls": [{"type": "function", "function": CALL}]},
         f"<tool_call>\n{json.dumps(CALL)}\n</tool_call>"),
        ({"content": "Thought.", "tool_calls": [{"type": "function", "function": CALL}]},
         f"Thought.\n<tool_call>\n{json.dumps(CALL)}\n</tool_call>"),
    ],
)
def test_message_text(message: dict, text: str) -> None:
    assert message_text(message) == text
    if "tool_calls" in message:
        assert parse_response(text, Frame(300, 300)).actions == [Click(x=5, y=6)]


def test_answer_without_text_or_calls_is_rejected() -> None:
    with pytest.raises(DataError):
        message_text({"content": None})


def test_persistent_5xx_becomes_unavailable(chat_server) -> None:
    chat_server.fail_next(502, times=3)
    policy = OpenAIPolicy(chat_server.base_url, "m", max_retries=2, backoff=0.01)
    with pytest.raises(EndpointUnavailable, match="HTTP 502") as info:
        policy.decide("t", _obs(300, 300), [])
    assert info.value.status == 502 and len(chat_server.requests) == 3


def test_4xx_is_not_retried(chat_server) -> None:
    chat_server.fail_next(400)
    policy = OpenAIPolicy(chat_server.base_url, "m", max_retries=3, backoff=0.01)
    with pytest.raises(EndpointError, match="HTTP 400 injected failure") as info:
        policy.decide("t", _obs(300, 300), [])
    assert not isinstance(info.value, EndpointUnavailable)
    assert info.value.status == 400 and len(chat_server.requests) == 1


def test_wrong_route_reports_the_server_message(chat_server) -> None:
    policy = OpenAIPolicy(chat_server.base_url + "/api", "m")
    with pytest.raises(EndpointError, match="HTTP 404 no route /api/v1/chat/completions"):
        policy.decide("t", _obs(300, 300), [])


def test_timeout_is_typed(chat_server) -> None:
    chat_server.delay_next(1.5)
    policy = OpenAIPolicy(chat_server.base_url, "m", timeout=0.3, max_retries=0)
    with pytest.raises(EndpointTimeout, match="within 0.3 s"):
        policy.decide("t", _obs(300, 300), [])


def test_unreachable_server_is_retried_then_unavailable() -> None:
    port = closed_port()
    policy = OpenAIPolicy(f"http://127.0.0.1:{port}", "m", max_retries=1, backoff=0.01)
    with pytest.raises(EndpointUnavailable, match="2 attempt"):
        policy.decide("t", _obs(300, 300), [])


def test_unparseable_answer_is_a_parse_error(chat_server) -> None:
    chat_server.script(["Sorry, I cannot see a button."])
    with pytest.raises(ParseError) as info:
        OpenAIPolicy(chat_server.base_url, "m").decide("t", _obs(300, 300), [])
    assert info.value.text == "Sorry, I cannot see a button."


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="image_format"):
        OpenAIPolicy("http://127.0.0.1:1", "m", image_format="gif")
    with pytest.raises(ValueError, match="max_retries"):
        OpenAIPolicy("http://127.0.0.1:1", "m", max_retries=-1)


def test_one_kept_alive_connection_serves_every_step(chat_server) -> None:
    screen = (560, 560)
    chat_server.script([_click_text(Frame(*screen), 100, 100)] * 3)
    with OpenAIPolicy(chat_server.base_url, "m") as policy:
        for _ in range(3):
            assert policy.decide("t", _obs(*screen), []).action == Click(x=100, y=100)
    assert len(chat_server.requests) == 3 and chat_server.connections == 1


def test_a_503_with_retry_after_is_waited_out_then_succeeds(chat_server) -> None:
    screen = (560, 560)
    chat_server.script([_click_text(Frame(*screen), 100, 100)])
    chat_server.fail_next(503, headers={"Retry-After": "1"})
    policy = OpenAIPolicy(chat_server.base_url, "m", backoff=0.01)
    started = time.monotonic()
    assert policy.decide("t", _obs(*screen), []).action == Click(x=100, y=100)
    assert time.monotonic() - started >= 1.0  # the server's wait, not the 0.01 s backoff
    assert len(chat_server.requests) == 2


def test_a_persistent_503_gives_up_after_the_retry_budget(chat_server) -> None:
    chat_server.fail_next(503, times=5)
    policy = OpenAIPolicy(chat_server.base_url, "m", max_retries=2, backoff=0.01)
    with pytest.raises(EndpointUnavailable, match=r"HTTP 503 injected failure \(3 attempt\(s\)\)"):
        policy.decide("t", _obs(300, 300), [])
    assert len(chat_server.requests) == 3


def test_a_retry_after_past_the_deadline_fails_at_once(chat_server) -> None:
    chat_server.fail_next(429, headers={"Retry-After": "30"})
    policy = OpenAIPolicy(chat_server.base_url, "m", timeout=5)
    started = time.monotonic()
    with pytest.raises(EndpointTimeout, match="after 30 s, past this request's 5 s deadline"):
        policy.decide("t", _obs(300, 300), [])
    assert time.monotonic() - started < 4 and len(chat_server.requests) == 1


def test_a_trickling_server_cannot_stretch_the_deadline(chat_server) -> None:
    chat_server.trickle_next(0.2, total_s=20)
    policy = OpenAIPolicy(chat_server.base_url, "m", timeout=1.5)
    started = time.monotonic()
    with pytest.raises(EndpointTimeout, match="within 1.5 s"):
        policy.decide("t", _obs(300, 300), [])
    assert time.monotonic() - started < 3


def test_a_past_screenshot_is_encoded_once(chat_server, monkeypatch) -> None:
    from qwen_gui_agent.model import endpoint

    encoded: list[tuple[int, int]] = []
    real = endpoint.image_data_url

    def counting(image, image_format="png"):
        encoded.append(image.size)
        return real(image, image_format)

    monkeypatch.setattr(endpoint, "image_data_url", counting)
    screen = (560, 560)
    chat_server.script([_click_text(Frame(*screen), 100, 100)] * 3)
    policy = OpenAIPolicy(chat_server.base_url, "m", history_images=2)
    history: list[HistoryEntry] = []
    for _ in range(3):
        observation = _obs(*screen)
        decision = policy.decide("t", observation, history)
        history.append(HistoryEntry(actions=decision.actions, screen_size=screen,
                                    observation=observation))
    # each step shows its own screenshot plus up to two past ones, yet each was encoded once
    shown = [sum(p["type"] == "image_url" for p in r["body"]["messages"][1]["content"])
             for r in chat_server.requests]
    assert shown == [1, 2, 3] and len(encoded) == 3
