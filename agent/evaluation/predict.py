"""Asking the model about many samples: one by one, concurrently, or batched.

All three give each sample exactly the decision ``policy.decide`` gives it
(same prompt, parser and coordinate mapping); they differ only in how the
calls are scheduled:

- one by one: any policy;
- ``concurrency`` N: N decisions in flight on threads, for a server that
  batches concurrent requests itself (vLLM, SGLang);
- ``batch_size`` N: N prompts in one ``generate`` call of a local model
  (:mod:`qwen_gui_agent.model.batched`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, TypeVar, Union

from qwen_gui_agent.errors import FeedbackError, UsageError

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import Decision
    from qwen_gui_agent.model.policy import Policy

Outcome = Union["Decision", FeedbackError]
Request = tuple[Any, ...]
"""``(task, observation, history)``: the arguments of one ``decide`` call."""
Key = TypeVar("Key")


class Predictor:
    """Calls ``policy.decide`` for requests; ``width`` is how many it works on at once."""

    def __init__(self, policy: Policy, width: int = 1) -> None:
        self.policy = policy
        self.width = width

    def __call__(self, requests: Sequence[Request]) -> list[Outcome]:
        return [self._one(request) for request in requests]

    def map(self, items: Iterable[tuple[Key, Request | None]]) -> Iterator[tuple[Key, Outcome | None]]:
        """The outcome of each ``(key, request)`` in order, ``width`` requests per call; a
        None request passes through as a None outcome (a sample that could not be loaded)."""
        chunk: list[tuple[Key, Request | None]] = []
        for item in items:
            chunk.append(item)
            if len(chunk) == self.width:
                yield from self._chunk(chunk)
                chunk = []
        if chunk:
            yield from self._chunk(chunk)

    def _chunk(self, chunk: list[tuple[Key, Request | None]]) -> Iterator[tuple[Key, Outcome | None]]:
        outcomes = iter(self([request for _, request in chunk if request is not None]))
        for key, request in chunk:
            yield key, (None if request is None else next(outcomes))

    def close(self) -> None:
        """Release what the predictor holds (threads); requests in flight are not waited for."""

    def __enter__(self) -> Predictor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _one(self, request: tuple[Any, ...]) -> Outcome:
        try:
            return self.policy.decide(*request)
        except FeedbackError as exc:  # the model's fault: scored as wrong, with the reason
            return exc


class ConcurrentPredictor(Predictor):
    """Up to ``width`` decisions in flight on threads (the policy must be thread-safe,
    as the endpoint client is)."""

    def __init__(self, policy: Policy, width: int) -> None:
        super().__init__(policy, width)
        self._pool = ThreadPoolExecutor(max_workers=width, thread_name_prefix="eval")

    def map(self, items: Iterable[tuple[Key, Request | None]]) -> Iterator[tuple[Key, Outcome | None]]:
        """A sliding window of ``width`` requests in flight, reported in sample order: a new
        request goes out as soon as the oldest one is answered (no barrier per chunk)."""
        window: deque[tuple[Key, Future[Outcome] | None]] = deque()
        try:
            for key, request in items:
                window.append((key, None if request is None else self._pool.submit(self._one, request)))
                while len(window) > self.width or (window and _ready(window[0][1])):
                    head, future = window.popleft()
                    yield head, None if future is None else future.result()
            while window:
                head, future = window.popleft()
                yield head, None if future is None else future.result()
        finally:
            for _, future in window:
                if future is not None:
                    future.cancel()

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)


class BatchedPredictor(Predictor):
    """``width`` prompts per ``generate`` call of a local ``QwenPolicy``."""

    def __call__(self, requests: Sequence[Request]) -> list[Outcome]:
        from qwen_gui_agent.model.batched import decide_batch

        return decide_batch(self.policy, requests)  # type: ignore[arg-type]


def _ready(future: Future[Outcome] | None) -> bool:
    return future is None or future.done()


def make_predictor(policy: Policy, *, batch_size: int = 1, concurrency: int = 1) -> Predictor:
    """The predictor for these settings; UsageError for a combination that cannot work."""
    if batch_size < 1 or concurrency < 1:
        raise UsageError(f"batch size and concurrency must be at least 1, "
                         f"got {batch_size} and {concurrency}")
    if batch_size > 1 and concurrency > 1:
        raise UsageError("use a batch size (a local model) or a concurrency (an endpoint), not both")
    if batch_size > 1:
        if not (hasattr(policy, "prepare") and hasattr(policy, "prompt")):
            raise UsageError(f"a batch size needs a local model (QwenPolicy), not "
                             f"{type(policy).__name__}; an endpoint takes a concurrency instead")
        return BatchedPredictor(policy, batch_size)
    if concurrency > 1:
        return ConcurrentPredictor(policy, concurrency)
    return Predictor(policy)
