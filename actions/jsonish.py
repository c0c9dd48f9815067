"""Find and decode the JSON objects a language model writes, forgiving its usual slips.

Models write tool calls with single quotes, Python literals (``True``, tuples),
trailing commas, a missing closing brace when generation stops early, or, in
Chinese context, full-width punctuation (``，`` ``：`` and curly quotes) between
the tokens. These are repaired here without ever evaluating text as code: the fallback decoder is
:func:`ast.literal_eval`, which only builds literals.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Iterator
from typing import Any

from qwen_gui_agent.errors import DataError

_CLOSERS = {"{": "}", "[": "]"}
MAX_DEPTH = 16
"""Deeper values are not tool calls; skipping them keeps degenerate output linear."""
_JSON_WORDS = re.compile(
    r"(\"(?:[^\"\\]|\\.?)*(?:\"|\Z)|'(?:[^'\\]|\\.?)*(?:'|\Z))|\b(true|false|null)\b",
    re.DOTALL,
)
"""JSON literals outside strings. A string never ends in failure (an unclosed one runs to
the end of the text), so no quote is retried: retrying each one is quadratic on ``"\\"\\"...``."""
_PY_WORDS = {"true": "True", "false": "False", "null": "None"}
_FULL_WIDTH = {"\uff0c": ",", "\uff1a": ":", "\u201c": '"', "\u201d": '"'}
"""Full-width comma and colon, curly double quotes: their ASCII meaning outside strings."""


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

    Full-width punctuation between the tokens is read as its ASCII counterpart
    when the text does not decode as it is. Raises ``ValueError`` if nothing
    yields a dict with string keys.
    """
    sources = [source]
    if any(char in source for char in _FULL_WIDTH):
        sources.append(_ascii_punctuation(source))
    for text in sources:
        for decode in (json.loads, _literal):
            try:
                value = decode(text)
            except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
                continue
            if isinstance(value, dict) and all(isinstance(k, str) for k in value):
                return value
    raise DataError("not a JSON object")


def _ascii_punctuation(source: str) -> str:
    """``source`` with full-width punctuation outside strings made ASCII.

    Inside a string it is text (``"你好，世界"``) and stays. A string opened
    with a curly quote closes with one, and an ASCII ``"`` inside it is escaped.
    """
    out: list[str] = []
    quote = ""
    escaped = False
    for char in source:
        if escaped:
            escaped = False
        elif quote == "\u201c":  # inside a curly-quoted string
            if char in "\u201c\u201d":
                char, quote = '"', ""
            elif char == '"':
                char = '\\"'
            elif char == "\\":
                escaped = True
        elif quote:
            if char == "\\":
                escaped = True
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char in _FULL_WIDTH:
            quote = "\u201c" if _FULL_WIDTH[char] == '"' else ""
            char = _FULL_WIDTH[char]
        out.append(char)
    return "".join(out)


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
