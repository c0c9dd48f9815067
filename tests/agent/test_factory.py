"""Building the policy a command line asks for, against the real tiny-model chat server."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fixtures.models import SERVED_MODEL
from fixtures.ports import closed_port

from qwen_gui_agent.model.endpoint import OpenAIPolicy
from qwen_gui_agent.model.factory import build_policy


def test_endpoint_without_model_asks_the_server_with_the_api_key(
    chat_server: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-local")
    policy = build_policy(endpoint=chat_server.base_url, max_pixels=256 * 28 * 28)
    assert isinstance(policy, OpenAIPolicy)
    assert policy.model == SERVED_MODEL and policy.image_bounds.max_pixels == 256 * 28 * 28
    (listing,) = [r for r in chat_server.requests if r["path"] == "/v1/models"]
    assert listing["headers"]["Authorization"] == "Bearer sk-local"
    chat_server.script(["<tool_call>{\"name\": \"computer_use\", \"arguments\": "
                        "{\"action\": \"wait\", \"time\": 1}}</tool_call>"])
    from PIL import Image

    from qwen_gui_agent.actions.observation import Observation

    policy.decide("t", Observation(image=Image.new("RGB", (300, 200)), env="browser"), [])
    assert chat_server.requests[-1]["headers"]["Authorization"] == "Bearer sk-local"


def test_an_unreachable_endpoint_without_model_says_to_pass_one() -> None:
    with pytest.raises(ValueError, match="pass --model NAME"):
        build_policy(endpoint=f"http://127.0.0.1:{closed_port()}")


@pytest.mark.parametrize("family, model_type", [
    ("qwen3-vl", "qwen3_vl"), ("ui-tars", "qwen2_5_vl"), (None, "qwen2_5_vl")])
def test_model_tiny_builds_the_familys_checkpoint(family: str | None, model_type: str,
                                                  tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``--model tiny --family F`` runs F's tiny checkpoint (UI-TARS: the Qwen2.5-VL one)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    policy = build_policy(model="tiny", family=family)
    assert policy.family == (family or "qwen2.5-vl")
    assert policy.model.config.model_type == model_type
