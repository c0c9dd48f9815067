"""Errors an env raises, split by what the caller can do about them."""

from __future__ import annotations


class EnvError(RuntimeError):
    """The env itself is unusable (lost device, closed display, crashed browser).

    The message says what to do. A run cannot continue after it.
    """


class ActionError(Exception):
    """This one action cannot be performed; the env is fine.

    The agent feeds the message back to the model, so it must read well to one.
    """


class UnsupportedAction(ActionError):
    """The env does not perform this action type (see ``Env.capabilities``)."""


class OutOfScreen(ActionError):
    """A coordinate lies outside the current screenshot."""
