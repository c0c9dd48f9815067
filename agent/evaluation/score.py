"""What is scored: a sample (one question about one screenshot) and its score (one
line of the predictions file)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from qwen_gui_agent.errors import FeedbackError

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import Decision, HistoryEntry
    from qwen_gui_agent.actions.observation import Observation


@dataclass
class Sample:
    """One question for the model: a task about one screenshot, with its history."""

    id: str
    """Unique and stable within the suite (resume skips ids already scored)."""
    task: str
    """What the model is asked, exactly as the policy receives it."""
    load: Callable[[], Observation]
    """Reads the screenshot; an error here counts the sample as an error, not a crash."""
    groups: dict[str, str]
    """Breakdown keys for the tables, e.g. ``{"split": "mobile", "type": "icon"}``."""
    input: dict[str, Any]
    """JSON-ready description of the input for the predictions file."""
    target: Any = None
    """The suite's ground truth."""
    history: Sequence[HistoryEntry] = ()


@dataclass
class Score:
    """How one sample (or one live episode) went; one line of the predictions file."""

    id: str
    groups: dict[str, str]
    metrics: dict[str, bool | None]
    """Every metric of the suite; None where it does not apply to this sample."""
    correct: bool
    """The suite's headline metric for this sample."""
    why: str
    """Why it is right or wrong, in words (the predicted point and the box, the parse error...)."""
    input: dict[str, Any] = field(default_factory=dict)
    raw: str | None = None
    """The model's exact output (None when the model was not asked)."""
    actions: list[dict[str, Any]] = field(default_factory=list)
    """The parsed actions, screenshot pixels."""
    error: str | None = None
    """The sample could not be evaluated (e.g. ``unreadable image: ...``): wrong, and listed."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Score:
        names = cls.__dataclass_fields__
        return cls(**{k: v for k, v in data.items() if k in names})


def error_score(sample: Sample, error: str) -> Score:
    """A sample that could not be evaluated: wrong on every metric, the reason kept."""
    return Score(sample.id, sample.groups, {}, False, error, input=sample.input, error=error)


def outcome_fields(outcome: Decision | FeedbackError) -> dict[str, Any]:
    """The raw text and parsed actions of a decision (or of the error's output) for a Score."""
    from qwen_gui_agent.actions.models import action_to_dict

    if isinstance(outcome, FeedbackError):
        decision = getattr(outcome, "decision", None)
        raw = decision.raw if decision is not None else getattr(outcome, "text", None)
        actions = list(decision.actions) if decision is not None else []
    else:
        raw, actions = outcome.raw, list(outcome.actions)
    return {"raw": raw, "actions": [action_to_dict(a) for a in actions]}
