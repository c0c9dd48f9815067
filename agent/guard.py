"""The safety guard: per action, allow it, ask the user, or deny it.

Modes:

- ``never`` (default): never ask; only explicit deny rules block anything.
- ``always``: ask before every action (step mode).
- ``sensitive``: ask for the actions a :class:`Rules` set marks as sensitive:
  by default typing, opening apps, ``terminate`` with success, and any action
  whose thought mentions paying, buying, deleting or sending.

Deny rules apply in every mode. ``ask`` is the user's function
``(action, decision) -> bool``; the CLI passes one that prompts on the terminal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Literal, Optional

from qwen_gui_agent.actions.models import ACTION_BY_TYPE
from qwen_gui_agent.errors import UsageError

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import Decision
    from qwen_gui_agent.actions.models import Action

GuardMode = Literal["never", "always", "sensitive"]
GUARD_MODES: tuple[str, ...] = ("never", "always", "sensitive")
AskFunction = Callable[["Action", Optional["Decision"]], bool]

DEFAULT_ASK_WORDS: tuple[str, ...] = (
    "pay", "buy", "bought", "purchas", "checkout", "delet", "remov", "erase",
    "send", "sent", "transfer",
)
"""Word beginnings (case-insensitive) that make an action's thought sensitive."""


@dataclass(frozen=True)
class Rules:
    """What counts as sensitive (asked in ``sensitive`` mode) and what is denied outright.

    Words match at the start of a word in the decision's thought (and, for
    deny rules, also in the action's own text, URL or app name), so ``"delet"``
    matches "delete", "Deleting" and "deletion".
    """

    ask_types: frozenset[str] = frozenset({"type", "open_app"})
    ask_words: tuple[str, ...] = DEFAULT_ASK_WORDS
    ask_terminate_success: bool = True
    deny_types: frozenset[str] = frozenset()
    deny_words: tuple[str, ...] = ()

    _ask_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False)
    _deny_re: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        unknown = set(self.ask_types) | set(self.deny_types)
        unknown -= set(ACTION_BY_TYPE)
        if unknown:
            raise UsageError(f"unknown action type(s) {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(ACTION_BY_TYPE)}")
        object.__setattr__(self, "_ask_re", _word_pattern(self.ask_words))
        object.__setattr__(self, "_deny_re", _word_pattern(self.deny_words))

    def deny_reason(self, action: Action, thought: str | None) -> str | None:
        """Why ``action`` is denied, or None."""
        if action.type in self.deny_types:
            return f"'{action.type}' actions are not allowed"
        if self._deny_re is not None:
            for text in (thought, _action_text(action)):
                match = self._deny_re.search(text or "")
                if match:
                    return f"it mentions {match.group(0)!r}, which is on the deny list"
        return None

    def ask_reason(self, action: Action, thought: str | None) -> str | None:
        """Why ``action`` is sensitive, or None."""
        if action.type in self.ask_types:
            return f"it is a '{action.type}' action"
        if action.type == "terminate" and self.ask_terminate_success \
                and getattr(action, "status", None) == "success":
            return "the agent reports the task as done"
        if self._ask_re is not None and thought:
            match = self._ask_re.search(thought)
            if match:
                return f"the thought mentions {match.group(0)!r}"
        return None


@dataclass(frozen=True)
class Verdict:
    """The guard's decision on one action; ``reason`` says why it was asked or denied."""

    allowed: bool
    kind: Literal["allow", "ask", "deny"]
    reason: str | None = None
    asked: bool = False
    """The user was asked (``allowed`` then holds their answer)."""

    @property
    def feedback(self) -> str | None:
        """What the model is told when the action was not performed (the prompt shows
        the action itself next to it, in the model's own coordinates)."""
        if self.allowed:
            return None
        if self.kind == "deny":
            return f"This action was blocked and not performed: {self.reason}."
        return "The user declined this action; it was not performed. Try something else."


class Guard:
    """Decides, per action, whether it may run. Stateless apart from its settings."""

    def __init__(
        self,
        mode: GuardMode = "never",
        ask: AskFunction | None = None,
        rules: Rules | None = None,
    ) -> None:
        if mode not in GUARD_MODES:
            raise UsageError(f"unknown guard mode {mode!r}; choose one of {', '.join(GUARD_MODES)}")
        if mode != "never" and ask is None:
            raise UsageError(f"guard mode {mode!r} needs an ask function (action, decision) -> bool")
        self.mode: GuardMode = mode
        self.ask = ask
        self.rules = rules or Rules()

    def verdict(self, action: Action, decision: Decision | None = None) -> Verdict:
        """Classify ``action`` without asking anyone."""
        thought = decision.thought if decision is not None else None
        reason = self.rules.deny_reason(action, thought)
        if reason is not None:
            return Verdict(False, "deny", reason)
        if self.mode == "always":
            return Verdict(False, "ask", "step mode asks before every action")
        if self.mode == "sensitive":
            reason = self.rules.ask_reason(action, thought)
            if reason is not None:
                return Verdict(False, "ask", reason)
        return Verdict(True, "allow")

    def check(self, action: Action, decision: Decision | None = None) -> Verdict:
        """Classify ``action`` and, when it needs asking, ask the user."""
        verdict = self.verdict(action, decision)
        if verdict.kind != "ask":
            return verdict
        assert self.ask is not None  # enforced in __init__
        return Verdict(bool(self.ask(action, decision)), "ask", verdict.reason, asked=True)


def _word_pattern(words: tuple[str, ...]) -> re.Pattern[str] | None:
    """Each word at the start of a word (a word boundary only where it begins with one)."""
    if not words:
        return None
    parts = [(r"\b" if re.match(r"\w", word) else "") + re.escape(word) for word in words]
    return re.compile("(?:" + "|".join(parts) + r")\w*", re.IGNORECASE)


def _action_text(action: Action) -> str:
    return " ".join(
        str(getattr(action, name)) for name in ("text", "url", "name") if hasattr(action, name)
    )
