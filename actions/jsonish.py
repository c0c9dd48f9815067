"""Find and decode the JSON objects a language model writes, forgiving its usual slips.

Models write tool calls with single quotes, Python literals (``True``, tuples),
trailing commas, or a missing closing brace when generation stops early. These
are repaired here without ever evaluating text as code: the fallback decoder is
:func:`ast.literal_eval`, which only builds literals.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Iterator
from typing import Any

_CLOSERS = {"{": "}", "[": "]"}
MAX_DEPTH = 16
"""Deeper values are not tool calls; skipping them keeps degenerate output linear."""
_JSON_WORDS = re.compile(
    r"(\"(?:[^\"\\]|\\.)*\"|'(?:[^'\\]|\\.)*')|\b(true|false|null)\b", re.DOTALL
)
_PY_WORDS = {"true": "True", "false": "False", "null": "None"}


def iter_objects(text: str) -> Iterator[tuple[int, int, dict[str, Any]]]:
    """Yield ``(start, end, object)`` for each top-level ``{...}`` in ``text`` that decodes.

    Strings (double- or single-quoted) are skipped while counting brackets. An
    object still open at the end of the text is decoded with its missing
    closers appended, since that is how a truncated generation looks. A ``{``
    that does not start a decodable object is not skipped over: scanning goes on
    from the next character, so prose braces do not hide a call behind them.
    One bracket scan serves every brace nested in it, which keeps degenerate
    output (thousands of ``{``) from costing quadratic time.
    """
    spans: dict[int, tuple[int, str] | None] = {}
    pos = text.find("{")
    while pos != -1:
        if pos not in spans:
            spans.update(_scan(text, pos))
        span = spans[pos]
        value = None if span is None else _try_loads(text[pos:span[0]] + span[1])
        if span is not None and value is not None:
            yield pos, span[0], value
            pos = text.find("{", span[0])
        else:
            pos = text.find("{", pos + 1)


def loads_object(source: str) -> dict[str, Any]:
    """Decode one object: strict JSON first, then a Python-literal reading of it.

    Raises ``ValueError`` if neither yields a dict with string keys.
    """
    for decode in (json.loads, _literal):
        try:
            value = decode(source)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(value, dict) and all(isinstance(k, str) for k in value):
            return value
    raise ValueError("not a JSON object")


def _try_loads(source: str) -> dict[str, Any] | None:
    try:
        return loads_object(source)
    except ValueError:
        return None


def _literal(source: str) -> Any:
    # Model text is full of backslashes that are invalid Python escapes; the
    # compiler's warnings about them would reach the user as noise.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", (SyntaxWarning, DeprecationWarning))
        return ast.literal_eval(
            _JSON_WORDS.sub(lambda m: m.group(1) or _PY_WORDS[m.group(2)], source)
        )


def _scan(text: str, start: int) -> dict[int, tuple[int, str] | None]:
    """Bracket spans for the opener at ``start`` and every opener nested in it.

    Each maps to ``(end, missing closers)`` (closers only for a value still open
    at the end of the text), or to ``None`` when a bracket mismatches, a string
    never ends, or the value nests deeper than any tool call does. A nested
    opener outside any string sees exactly the text this scan sees, so its span
    is the same as if it were scanned on its own.
    """
    spans: dict[int, tuple[int, str] | None] = {}
    stack: list[list[Any]] = []  # [position, closer, nesting height]
    quote = ""
    i = start
    while i < len(text):
        char = text[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in _CLOSERS:
            stack.append([i, _CLOSERS[char], 1])
        elif char in "}]":
            if stack[-1][1] != char:
                break
            opened, _, height = stack.pop()
            spans[opened] = (i + 1, "") if height <= MAX_DEPTH else None
            if not stack:
                return spans
            stack[-1][2] = max(stack[-1][2], height + 1)
        i += 1
    else:
        if not quote:
            closers = "".join(closer for _, closer, _ in reversed(stack))
            height = 0
            for depth in range(len(stack) - 1, -1, -1):
                opened, _, own = stack[depth]
                height = max(own, height + 1)
                spans[opened] = (
                    (len(text), closers[:len(stack) - depth]) if height <= MAX_DEPTH else None
                )
            return spans
    spans.update((opened, None) for opened, _, _ in stack)
    return spans
