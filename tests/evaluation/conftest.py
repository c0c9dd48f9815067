"""Fixtures for the evaluation tests: a chat server that answers by prompt."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures.eval_cases import write_androidcontrol_release, write_screenspot_cases
from fixtures.models import TinyChatServer


class KeyedChatServer(TinyChatServer):
    """The tiny-model chat server, forced to the answer whose key occurs in the request's
    user text: concurrent requests arrive in any order, so a script played in order
    would give answers to the wrong samples."""

    answers: dict[str, str]

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        from qwen_gui_agent.model.forcing import ForcedOutput

        user = " ".join(part.get("text", "") for m in body["messages"] if m["role"] == "user"
                        for part in (m["content"] if isinstance(m["content"], list)
                                     else [{"text": m["content"]}]))
        keys = [key for key in self.answers if key in user]
        if len(keys) != 1:
            raise ValueError(f"{len(keys)} scripted answers match this request")
        self._forced = ForcedOutput([self.answers[keys[0]]], self.processor.tokenizer)
        return super().complete(body)


@pytest.fixture(scope="session")
def _keyed_server(tiny_model: tuple[Any, Any]) -> Iterator[KeyedChatServer]:
    server = KeyedChatServer(*tiny_model)
    yield server
    server.close()


@pytest.fixture
def keyed_server(_keyed_server: KeyedChatServer) -> Iterator[KeyedChatServer]:
    """``keyed_server.answers = {"text in the prompt": "forced answer", ...}``."""
    _keyed_server.reset()
    _keyed_server.answers = {}
    yield _keyed_server
    _keyed_server.reset()


@pytest.fixture
def screenspot_dir(tmp_path: Path) -> Path:
    """The hand-counted ScreenSpot-v2 cases (``fixtures.eval_cases``)."""
    return write_screenspot_cases(tmp_path / "ScreenSpot-v2")


@pytest.fixture
def release(tmp_path: Path) -> Path:
    """The hand-counted AndroidControl release (``fixtures.eval_cases``)."""
    return write_androidcontrol_release(tmp_path / "android_control")
