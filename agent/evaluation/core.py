"""The evaluation loop every suite shares: ask, score, append, tally.

An *offline* suite (ScreenSpot, ScreenSpot-Pro, AndroidControl, recorded runs)
yields :class:`Sample` s, each one question about one screenshot; the model is
asked through the policy's ordinary ``decide`` (or the batched path with the
same prompt and parser) and the suite scores the answer. A *live* suite
(MiniWoB++) plays episodes through the agent loop and scores each episode.

Either way each :class:`Score` is appended to the predictions file and flushed
as soon as it exists, so Ctrl-C keeps everything scored so far and ``resume``
skips it next time; the results are computed from the scores, resumed ones included.
"""

from __future__ import annotations

import json
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwen_gui_agent.agent.evaluation.predict import Predictor, Request, make_predictor
from qwen_gui_agent.agent.evaluation.predictions import PredictionsFile
from qwen_gui_agent.agent.evaluation.score import Sample, Score, error_score
from qwen_gui_agent.agent.evaluation.tables import Table
from qwen_gui_agent.errors import FeedbackError, QwenAgentError, UnusableError, UsageError

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import Decision
    from qwen_gui_agent.actions.observation import Observation
    from qwen_gui_agent.model.policy import Policy


class Suite(ABC):
    """What every suite tells the loop and the results."""

    name: str
    """The suite's name in the CLI and the predictions file."""

    @abstractmethod
    def settings(self) -> dict[str, Any]:
        """What defines this evaluation besides the model (resume refuses a file made otherwise);
        paths absolute, so a resume from another folder still matches."""

    @abstractmethod
    def summarize(self, scores: Sequence[Score]) -> tuple[dict[str, Any], list[Table]]:
        """The headline metrics (JSON-ready) and the tables."""

    def count(self) -> int | None:
        """How many samples or episodes there are, when known without reading them all."""
        return None


class OfflineSuite(Suite):
    """A fixed set of screenshots with known answers."""

    @abstractmethod
    def samples(self) -> Iterator[Sample]:
        """Every sample, in a stable order; DatasetError for a malformed dataset."""

    @abstractmethod
    def score(self, sample: Sample, observation: Observation,
              outcome: Decision | FeedbackError) -> Score:
        """Score the model's decision, or the error its output raised, for ``sample``."""


class LiveSuite(Suite):
    """Episodes played live; the suite drives the env and the agent loop itself."""

    @abstractmethod
    def episodes(self) -> list[str]:
        """The ids of every episode, in order."""

    @abstractmethod
    def play(self, policy: Policy, ids: Sequence[str]) -> Iterator[Score]:
        """Play the episodes ``ids``, yielding each one's score as it ends."""


@dataclass
class Progress:
    """Where an evaluation stands, for a progress display."""

    done: int
    total: int | None
    correct: int
    errors: int
    elapsed_s: float

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.done if self.done else None


@dataclass
class Results:
    """Everything scored, the headline metrics and the tables."""

    suite: str
    settings: dict[str, Any]
    model: dict[str, Any]
    scores: list[Score]
    metrics: dict[str, Any]
    tables: list[Table]
    elapsed_s: float = 0.0
    resumed: int = 0
    """Scores read back from the predictions file rather than computed in this run."""
    interrupted: bool = False
    """Ctrl-C ended the run early: the results cover the samples scored until then."""
    stopped: str | None = None
    """Why the run stopped early when the model backend became unusable; None otherwise."""

    @property
    def complete(self) -> bool:
        return not self.interrupted and self.stopped is None

    def text(self) -> str:
        """The printed report: every table, then one line on how the run went."""
        parts = [table.render() for table in self.tables]
        scored = len(self.scores) - self.resumed
        rate = f", {scored / self.elapsed_s:.2f}/s" if self.elapsed_s > 0 and scored else ""
        line = (f"{len(self.scores)} scored ({self.resumed} resumed, {scored} in "
                f"{self.elapsed_s:.1f} s{rate})")
        if self.interrupted:
            line += "; INTERRUPTED: the numbers cover the samples scored so far"
        if self.stopped:
            line += f"; STOPPED: {self.stopped}"
        return "\n\n".join([*parts, line])

    def to_json(self) -> dict[str, Any]:
        return {
            "suite": self.suite, "settings": self.settings, "model": self.model,
            "metrics": self.metrics, "tables": [t.to_json() for t in self.tables],
            "samples": len(self.scores), "resumed": self.resumed,
            "errors": sum(1 for s in self.scores if s.error),
            "elapsed_s": round(self.elapsed_s, 3), "interrupted": self.interrupted,
            "stopped": self.stopped,
        }

    def write(self, path: Path | str) -> None:
        Path(path).write_text(json.dumps(self.to_json(), indent=2, ensure_ascii=False) + "\n",
                              encoding="utf-8")


def evaluate(
    suite: Suite,
    policy: Policy,
    *,
    limit: int | None = None,
    predictions: Path | str | None = None,
    resume: bool = False,
    batch_size: int = 1,
    concurrency: int = 1,
    model: dict[str, Any] | None = None,
    on_progress: Callable[[Progress], None] | None = None,
) -> Results:
    """Evaluate ``policy`` on ``suite``; returns the results (also when interrupted).

    - ``limit``: the first N samples (or episodes) only, resumed ones included.
    - ``predictions``: a JSONL file that gets one line per sample, appended and
      flushed as it is scored. An existing non-empty file is refused unless
      ``resume``, which skips the samples it holds and counts them in the results.
    - ``batch_size`` (a local ``QwenPolicy``): samples per ``generate`` call.
      ``concurrency``: decisions in flight at once (an endpoint's threads).
    - ``model``: how the policy was chosen (name, endpoint...), kept in the
      results and in every prediction line; resume refuses a file made with another.

    Ctrl-C stops the run and returns what was scored (``interrupted``); a model
    backend that becomes unusable (a dead server) stops it likewise (``stopped``).
    """
    if limit is not None and limit < 1:
        raise UsageError(f"limit must be at least 1, got {limit}")
    if isinstance(suite, LiveSuite) and (batch_size > 1 or concurrency > 1):
        raise UsageError(f"{suite.name} plays episodes one at a time: batch size and "
                         "concurrency do not apply")
    model = dict(model or {"policy": repr(policy)})
    file = PredictionsFile(predictions, suite.name, suite.settings(), model) if predictions else None
    done = file.open(resume) if file else {}
    scores = list(done.values())
    total = suite.count()
    total = min(total, limit) if total is not None and limit else (total or limit)
    started = time.perf_counter()
    correct = sum(s.correct for s in scores)
    errors = sum(1 for s in scores if s.error)

    def record(score: Score) -> None:
        nonlocal correct, errors
        scores.append(score)
        correct += score.correct
        errors += bool(score.error)
        if file:
            file.append(score)
        if on_progress:
            on_progress(Progress(len(scores), total, correct, errors, time.perf_counter() - started))

    interrupted, stopped = False, None
    try:
        if on_progress:
            on_progress(Progress(len(scores), total, correct, errors, 0.0))
        if isinstance(suite, LiveSuite):
            ids = [i for i in suite.episodes()[:limit] if i not in done]
            for score in suite.play(policy, ids):
                record(score)
        else:
            assert isinstance(suite, OfflineSuite)
            with make_predictor(policy, batch_size=batch_size, concurrency=concurrency) as predictor:
                for score in _scores(suite, predictor, _pending(suite.samples(), done, limit)):
                    record(score)
    except KeyboardInterrupt:
        interrupted = True
    except UnusableError as exc:
        stopped = str(exc)
    finally:
        if file:
            file.close()
    metrics, tables = suite.summarize(scores)
    return Results(suite.name, suite.settings(), model, scores, metrics, tables,
                   elapsed_s=time.perf_counter() - started, resumed=len(done),
                   interrupted=interrupted, stopped=stopped)


def _pending(samples: Iterable[Sample], done: dict[str, Score], limit: int | None) -> Iterator[Sample]:
    """The first ``limit`` samples, less those already scored; duplicate ids are a dataset bug."""
    seen: set[str] = set()
    for index, sample in enumerate(samples):
        if limit is not None and index >= limit:
            return
        if sample.id in seen:
            from qwen_gui_agent.errors import DatasetError

            raise DatasetError(f"two samples share the id {sample.id!r}")
        seen.add(sample.id)
        if sample.id not in done:
            yield sample


def _scores(suite: OfflineSuite, predictor: Predictor, samples: Iterable[Sample]) -> Iterator[Score]:
    """Load, ask, score, in sample order; a sample whose image cannot be read is not asked."""
    from PIL.Image import DecompressionBombError

    failed: dict[str, Score] = {}

    def requests() -> Iterator[tuple[tuple[Sample, Observation | None], Request | None]]:
        for sample in samples:
            try:
                observation = sample.load()
            except (OSError, ValueError, DecompressionBombError, QwenAgentError) as exc:
                failed[sample.id] = error_score(sample, f"unreadable image: {exc}")
                yield (sample, None), None
                continue
            yield (sample, observation), (sample.task, observation, sample.history)

    for (sample, observation), outcome in predictor.map(requests()):
        if observation is None or outcome is None:
            yield failed.pop(sample.id)
        else:
            yield suite.score(sample, observation, outcome)
