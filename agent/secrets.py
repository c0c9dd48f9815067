"""Secrets: the model sees ``{NAME}``, the env receives the value, nothing writes it.

A task such as ``"log in with password {PASSWORD}"`` reaches the model as is.
:class:`SecretEnv`, the one place values and placeholders meet, wraps the env
of a run or a replay: when the model types ``{PASSWORD}`` it swaps in the real
value just before the backend acts, and whatever the env reports back (URLs,
titles, outcome facts, error messages) has the values turned back into
placeholders before the loop, the model or the disk sees it. Everything else
the agent writes (trajectories, messages, callbacks) goes through
:meth:`Secrets.redact` too.

Screenshots are pixels and cannot be redacted: type secrets into fields that
mask their input (password fields) if the screenshots must stay clean.
"""

from __future__ import annotations

import dataclasses
import os
import re
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from qwen_gui_agent.envs.base import EnvWrapper
from qwen_gui_agent.errors import ActionError, EnvError, SecretError

if TYPE_CHECKING:
    from qwen_gui_agent.actions.models import Action
    from qwen_gui_agent.actions.observation import Observation, Outcome
    from qwen_gui_agent.envs.base import Env

ENV_PREFIX = "QWEN_AGENT_SECRET_"
"""``QWEN_AGENT_SECRET_PASSWORD=hunter2`` in the environment defines ``{PASSWORD}``."""

MIN_LENGTH = 3
"""Shorter values would be 'redacted' out of every number and word they occur in."""

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_EXPANDED_FIELDS = {"type": "text", "navigate": "url"}
"""Action type -> the field in which placeholders are replaced by values."""



def encoded_pattern(value: str) -> re.Pattern[str]:
    """A pattern matching ``value`` with any of its characters percent-encoded.

    A typed secret reaches URLs in many spellings: a GET form encodes it
    ``application/x-www-form-urlencoded`` (space as ``+``), a browser's address
    bar shows it partly decoded (only the space as ``%20``), a script may use
    ``encodeURIComponent``. Matching each character as itself or as its
    UTF-8 bytes in ``%XX`` form is the same as decoding the text before
    comparing, without a list of spellings to keep complete.
    """
    parts = []
    for char in value:
        # the encoded spelling first: a literal "%" must not match the start of "%25"
        spellings = ["".join("%" + "".join(_either_case(digit) for digit in f"{byte:02X}")
                             for byte in char.encode("utf-8")), re.escape(char)]
        if char == " ":
            spellings.append(r"\+")
        parts.append("(?:" + "|".join(spellings) + ")")
    return re.compile("".join(parts))


def _either_case(digit: str) -> str:
    """A hex digit in a percent escape, which may be written in either case."""
    return f"[{digit}{digit.lower()}]" if digit.isalpha() else digit


class Secrets:
    """A set of named secret values; ``bool(secrets)`` is False when empty."""

    def __init__(self, values: Mapping[str, str] | None = None) -> None:
        self._values: dict[str, str] = {}
        for name, value in (values or {}).items():
            if not _NAME.match(name):
                raise SecretError(
                    f"secret name {name!r} is not valid: use letters, digits and '_', "
                    "not starting with a digit"
                )
            if len(value) < MIN_LENGTH:
                raise SecretError(
                    f"secret {name} is shorter than {MIN_LENGTH} characters: a value that "
                    "short cannot be told apart from ordinary text when redacting"
                )
            self._values[name] = value
        # Longest first, so a value containing another is replaced whole.
        self._patterns = [
            (encoded_pattern(value), name)
            for name, value in sorted(self._values.items(), key=lambda item: -len(item[1]))
        ]
        self._placeholder = (
            re.compile(r"\{(" + "|".join(map(re.escape, self._values)) + r")\}")
            if self._values else None
        )

    @classmethod
    def from_pairs(cls, pairs: Iterable[str]) -> Secrets:
        """Parse ``NAME=VALUE`` strings (the CLI's ``--secret``); the value may contain ``=``."""
        values: dict[str, str] = {}
        for pair in pairs:
            name, sep, value = pair.partition("=")
            if not sep:
                raise SecretError(f"a secret must look like NAME=VALUE, got {name.strip()!r}")
            values[name.strip()] = value
        return cls(values)

    @classmethod
    def from_env(
        cls, prefix: str = ENV_PREFIX, environ: Mapping[str, str] | None = None
    ) -> Secrets:
        """Collect ``{prefix}NAME=value`` variables as secret ``NAME``."""
        environ = os.environ if environ is None else environ
        return cls({
            key[len(prefix):]: value for key, value in environ.items()
            if key.startswith(prefix) and len(key) > len(prefix)
        })

    def merged(self, other: Secrets) -> Secrets:
        """A new set with ``other``'s secrets added (``other`` wins on a name clash)."""
        return Secrets({**self._values, **other._values})

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._values)

    def __bool__(self) -> bool:
        return bool(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Secrets(names={list(self._values)})"

    # -- towards the env -----------------------------------------------------------
    def expand(self, text: str) -> str:
        """Replace each known ``{NAME}`` by its value; unknown braces are left alone."""
        if self._placeholder is None:
            return text
        return self._placeholder.sub(lambda m: self._values[m.group(1)], text)

    def expand_action(self, action: Action) -> Action:
        """The action with placeholders in its typed text (or URL) replaced by values."""
        field = _EXPANDED_FIELDS.get(action.type)
        if field is None or self._placeholder is None:
            return action
        text = getattr(action, field)
        expanded = self.expand(text)
        return action if expanded == text else action.model_copy(update={field: expanded})

    # -- towards anything written ----------------------------------------------------
    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced by its ``{NAME}``, however it is
        percent-encoded (any characters of it, in either case, ``+`` for a space)."""
        for pattern, name in self._patterns:
            text = pattern.sub("{" + name + "}", text)
        return text

    def redact_data(self, data: Any) -> Any:
        """:meth:`redact` applied to every string inside nested dicts, lists and tuples."""
        if isinstance(data, str):
            return self.redact(data)
        if isinstance(data, dict):
            return {self.redact_data(k): self.redact_data(v) for k, v in data.items()}
        if isinstance(data, (list, tuple)):
            return type(data)(self.redact_data(v) for v in data)
        return data

    def prompt_note(self) -> str:
        """The sentence added to the task so the model knows which placeholders exist."""
        if not self._values:
            return ""
        names = ", ".join("{" + name + "}" for name in self._values)
        return (
            f"Secret values are hidden behind the placeholders {names}: to enter one, "
            "type its placeholder exactly (braces included) and it will be replaced."
        )


class SecretEnv(EnvWrapper):
    """An env that types secret values for their placeholders and reports nothing but placeholders.

    ``execute`` expands ``{NAME}`` in typed text and URLs; the observation's text
    (URL, title, app, extra facts), an outcome's info and the message of an
    ``ActionError`` / ``EnvError`` come back redacted.
    """

    def __init__(self, env: Env, secrets: Secrets) -> None:
        super().__init__(env)
        self.secrets = secrets

    def observe(self, settle: bool = False) -> Observation:
        observation = self.env.observe(settle)
        redact = self.secrets.redact_data
        return dataclasses.replace(
            observation, app=redact(observation.app), url=redact(observation.url),
            title=redact(observation.title), extra=redact(observation.extra),
        )

    def execute(self, action: Action) -> Outcome:
        try:
            outcome = self.env.execute(self.secrets.expand_action(action))
        except (ActionError, EnvError) as exc:
            message = self.secrets.redact(str(exc))
            if message == str(exc):
                raise
            exc.args = (message,)
            raise
        return dataclasses.replace(outcome, info=self.secrets.redact_data(outcome.info))
