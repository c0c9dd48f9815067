"""The guard's modes and rules, decided per action."""

from __future__ import annotations

from typing import Any

import pytest

from qwen_gui_agent.actions.decision import Decision
from qwen_gui_agent.actions.models import Click, Navigate, OpenApp, Terminate, TypeText
from qwen_gui_agent.agent.guard import Guard, Rules


def _decision(action: Any, thought: str | None = None) -> Decision:
    return Decision(actions=(action,), raw="", thought=thought)


def test_never_allows_everything_without_asking() -> None:
    guard = Guard()
    for action in (TypeText(text="x"), Terminate(status="success"), Click(x=1, y=1)):
        verdict = guard.check(action, _decision(action, "pay the bill"))
        assert verdict.allowed and verdict.kind == "allow" and not verdict.asked
        assert verdict.feedback is None


def test_always_asks_for_every_action_and_obeys_the_answer() -> None:
    asked: list[tuple[Any, Any]] = []
    answers = iter([True, False])

    def ask(action: Any, decision: Any) -> bool:
        asked.append((action, decision))
        return next(answers)

    guard = Guard("always", ask=ask)
    click = Click(x=3, y=4)
    first = guard.check(click, _decision(click))
    second = guard.check(click, _decision(click))
    assert [a for a, _ in asked] == [click, click]
    assert first.allowed and first.asked
    assert not second.allowed and second.asked
    assert "declined" in (second.feedback or "")


@pytest.mark.parametrize("action, thought, sensitive", [
    (TypeText(text="hello"), None, True),
    (OpenApp(name="Settings"), None, True),
    (Terminate(status="success"), None, True),
    (Terminate(status="failure"), None, False),
    (Click(x=1, y=1), "Now I click Pay now", True),
    (Click(x=1, y=1), "Buying the item", True),
    (Click(x=1, y=1), "I will delete the draft", True),
    (Click(x=1, y=1), "Sending the message", True),
    (Click(x=1, y=1), "Open the menu to display options", False),
    (Click(x=1, y=1), None, False),
])
def test_sensitive_mode_asks_for_the_default_rule_set(action: Any, thought: Any, sensitive: bool) -> None:
    calls: list[Any] = []
    guard = Guard("sensitive", ask=lambda a, d: calls.append(a) or True)
    verdict = guard.check(action, _decision(action, thought))
    assert verdict.allowed
    assert verdict.asked is sensitive
    assert calls == ([action] if sensitive else [])


def test_rules_are_configurable_and_deny_applies_in_every_mode() -> None:
    rules = Rules(ask_types=frozenset({"click"}), ask_words=("launch",), ask_terminate_success=False,
                  deny_types=frozenset({"open_app"}), deny_words=("evil.example",))
    guard = Guard("sensitive", ask=lambda a, d: False, rules=rules)
    assert guard.verdict(TypeText(text="x")).kind == "allow"
    assert guard.verdict(Terminate(status="success")).kind == "allow"
    assert guard.verdict(Click(x=0, y=0)).kind == "ask"
    denied = Guard("never", rules=rules).check(Navigate(url="https://evil.example/"))
    assert not denied.allowed and denied.kind == "deny" and "evil.example" in (denied.reason or "")
    blocked = Guard("never", rules=rules).check(OpenApp(name="Mail"))
    assert blocked.kind == "deny"
    assert "blocked" in (blocked.feedback or "")


def test_deny_words_may_start_with_punctuation() -> None:
    guard = Guard(rules=Rules(deny_words=("/admin", "rm -rf")))
    assert guard.verdict(Navigate(url="/admin/users")).kind == "deny"
    assert guard.verdict(TypeText(text="sudo rm -rf /")).kind == "deny"
    assert guard.verdict(Navigate(url="/administrator")).kind == "deny"  # a word beginning
    assert guard.verdict(Navigate(url="/users")).kind == "allow"


def test_bad_configuration_raises() -> None:
    with pytest.raises(ValueError, match="unknown action type.*typo"):
        Rules(ask_types=frozenset({"typo"}))
    with pytest.raises(ValueError, match="unknown guard mode"):
        Guard("sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="ask function"):
        Guard("always")
