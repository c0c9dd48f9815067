"""Batched local decoding: one generate call, left padding, the same answers as one by one."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from fixtures.datasets import screenshot
from fixtures.models import script_texts

from qwen_gui_agent.actions.decision import HistoryEntry
from qwen_gui_agent.actions.models import Click, TypeText
from qwen_gui_agent.actions.observation import Observation
from qwen_gui_agent.agent.evaluation.predict import make_predictor
from qwen_gui_agent.errors import UsageError
from qwen_gui_agent.model.batched import collate, decide_batch
from qwen_gui_agent.model.forcing import ForcedOutput
from qwen_gui_agent.model.local import QwenPolicy


def requests() -> list[tuple[str, Observation, tuple[HistoryEntry, ...]]]:
    """Prompts of different lengths: other screen sizes, tools and histories."""
    sizes = [(336, 224), (224, 448), (560, 336), (280, 280), (420, 252)]
    envs = ["desktop", "android", "browser", "desktop", "android"]
    out = []
    for index, (size, env) in enumerate(zip(sizes, envs)):
        observation = Observation(image=screenshot(size, [(10, 10, 60 + 20 * index, 40)]), env=env)
        history = tuple(HistoryEntry(actions=(Click(x=5 * k, y=5),), screen_size=size)
                        for k in range(index))
        if index == 3:
            history += (HistoryEntry(actions=(TypeText(text="a longer history entry " * 3),),
                                     screen_size=size),)
        out.append((f"Task number {index}: click the button", observation, history))
    return out


def answer(outcome: Any) -> tuple[str, str | None]:
    """The raw text and, when it parsed, the actions (else the error type)."""
    raw = getattr(outcome, "raw", None)
    if raw is None:
        return outcome.text, type(outcome).__name__
    return raw, repr(outcome.actions)


def test_greedy_batch_decoding_equals_one_by_one(tiny_model: tuple[Any, Any]) -> None:
    model, processor = tiny_model
    policy = QwenPolicy(model, processor=processor, max_new_tokens=24)
    asked = requests()
    alone = []
    for request in asked:
        try:
            alone.append(answer(policy.decide(*request)))
        except Exception as exc:  # the random model's output rarely parses
            alone.append(answer(exc))
    together = [answer(outcome) for outcome in decide_batch(policy, asked)]
    assert together == alone
    assert len({raw for raw, _ in alone}) > 1  # the rows did differ


def test_forced_rows_of_different_lengths(tiny_model: tuple[Any, Any]) -> None:
    model, processor = tiny_model
    items = [{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [5, 6]}},
             "Thought: the long one.\n" + "x" * 40,
             {"name": "mobile_use", "arguments": {"action": "type", "text": "hello"}}]
    texts = script_texts(items)
    forced = ForcedOutput(texts, processor.tokenizer)
    policy = QwenPolicy(model, processor=processor, logits_processor=forced,
                        max_new_tokens=forced.longest + 2)
    outcomes = decide_batch(policy, requests()[:3])
    assert [answer(o)[0] for o in outcomes] == texts
    assert outcomes[0].actions == (Click(x=5, y=6),)
    assert type(outcomes[1]).__name__ == "ParseError"
    assert outcomes[2].output_tokens == len(processor.tokenizer.encode(texts[2])) + 1  # + end token
    assert forced.used == 3


def test_collate_pads_on_the_left() -> None:
    first = {"input_ids": torch.tensor([[1, 2, 3]]), "attention_mask": torch.ones(1, 3, dtype=torch.long),
             "pixel_values": torch.zeros(4, 2), "image_grid_thw": torch.tensor([[1, 2, 2]])}
    second = {"input_ids": torch.tensor([[7]]), "pixel_values": torch.ones(8, 2),
              "image_grid_thw": torch.tensor([[1, 2, 4]])}
    batch = collate([first, second], pad_id=0)
    assert batch["input_ids"].tolist() == [[1, 2, 3], [0, 0, 7]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [0, 0, 1]]
    assert batch["pixel_values"].shape == (12, 2)
    assert batch["image_grid_thw"].tolist() == [[1, 2, 2], [1, 2, 4]]


def test_batch_size_needs_a_local_model() -> None:
    from qwen_gui_agent.model.endpoint import OpenAIPolicy

    with pytest.raises(UsageError, match="a batch size needs a local model"):
        make_predictor(OpenAIPolicy("http://127.0.0.1:9", "m"), batch_size=4)
    with pytest.raises(UsageError, match="not both"):
        make_predictor(OpenAIPolicy("http://127.0.0.1:9", "m"), batch_size=4, concurrency=2)


class SlowPolicy:
    """A thread-safe policy that answers after ``delay`` seconds and counts calls in flight."""

    def __init__(self, delay: float) -> None:
        import threading

        self.delay, self.lock = delay, threading.Lock()
        self.in_flight = self.most = 0

    def decide(self, task: str, observation: Any, history: Any) -> Any:
        import time

        from qwen_gui_agent.actions.decision import Decision

        with self.lock:
            self.in_flight += 1
            self.most = max(self.most, self.in_flight)
        time.sleep(self.delay * (1 + int(task) % 3))  # uneven answers
        with self.lock:
            self.in_flight -= 1
        return Decision(actions=(Click(x=int(task), y=0),), raw=task)


def test_concurrent_requests_stay_in_flight_and_come_back_in_order() -> None:
    policy = SlowPolicy(0.05)
    observation = Observation(image=screenshot((56, 56)), env="desktop")
    items = [(i, (str(i), observation, ())) for i in range(12)]
    items.insert(5, ("unloadable", None))
    with make_predictor(policy, concurrency=4) as predictor:
        out = list(predictor.map(items))
    assert [key for key, _ in out] == [key for key, _ in items]
    assert [o.raw for _, o in out if o is not None] == [str(i) for i in range(12)]
    assert dict(out)["unloadable"] is None
    assert policy.most == 4
