"""The one error type for model output that cannot be turned into actions."""

from __future__ import annotations


class ParseError(ValueError):
    """Model output that cannot be turned into actions.

    The message is written for the model: it says what was wrong and how a
    valid call looks, so the agent loop can send it back as feedback.
    ``text`` keeps the offending output so nothing is lost.
    """

    def __init__(self, message: str, text: str = "") -> None:
        super().__init__(message)
        self.text = text


def brief(value: object) -> str:
    """``repr(value)`` cut short, so one bad value cannot flood the prompt an error goes back in."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
