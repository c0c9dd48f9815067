"""UI-TARS's text syntax: ``Thought: ...`` then ``Action: name(key='value', ...)``.

Read in one left-to-right pass (each regex here is anchored and cannot
backtrack across the text, so long junk costs linear time); nothing is ever
evaluated. Lenient where the intent is clear, as real outputs need:

- special tokens (``<|box_start|>``, ``<|im_end|>``), ``[EOS]`` and code-fence lines are dropped;
- ``Action：`` (full-width colon); the thought with or without its ``Thought:`` label,
  ``<think>`` tags, ``Reflection:`` / ``Action_Summary:`` prefixes;
- several calls after one ``Action:``, separated by blank lines (the official
  separator) or single line breaks; a ``# comment`` after a call (models copy the
  prompt's annotations);
- values in single or double quotes, Python escapes (``\\'``, ``\\"``, ``\\n``), quotes
  left unescaped inside free text (``type(content='It's')``) when the quote
  plainly does not end the value; bracketed values written without quotes;
- a reply that is only a call, with no ``Action:`` label.

A :class:`ParseError` (its message written for the model) otherwise: no call,
several ``Action:`` lines (several steps at once), text after the calls, an
unclosed call or string, positional arguments, a repeated argument.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from qwen_gui_agent.errors import ParseError, brief

_NOISE = re.compile(r"<\|[a-z_]{1,30}\|>|\[EOS\]|^[ \t]*```[\w-]*[ \t]*$", re.MULTILINE)
"""Special tokens (box markers included: the point inside is what counts), and fence lines."""
_MARKER = re.compile(r"^[ \t]*Action[ \t]*[:：][ \t]*", re.MULTILINE)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CALL_HEAD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*[ \t]*\(")
_NEXT_ARG = re.compile(r",[ \t\r\n]*(?:[A-Za-z_][A-Za-z0-9_]*[ \t\r\n]*=|\))")
"""What follows a value that ends: the next keyword, or a trailing comma."""
_THINK_TAG = re.compile(r"</?think>", re.IGNORECASE)
_THOUGHT_LABEL = re.compile(r"^[ \t]*Thought[ \t]*[:：][ \t]*", re.MULTILINE)
_ESCAPES = {"n": "\n", "t": "\t", "\\": "\\", "'": "'", '"': '"'}
_SPACE = " \t\r\n"
FREE_TEXT = frozenset({"content", "text"})
"""Arguments holding the model's own prose, where a stray quote is most likely text."""
FORMAT_HINT = "Reply in this format:\nThought: ...\nAction: click(start_box='(x1,y1)')"


@dataclass(frozen=True)
class Call:
    """One call as written: its name and keyword values (quotes removed, escapes decoded)."""

    name: str
    args: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """``{"name", "arguments"}``, the shape every family's calls are recorded in."""
        return {"name": self.name, "arguments": dict(self.args)}


@dataclass(frozen=True)
class Reply:
    """A parsed reply: the thought (labels and tags gone) and the calls, in order."""

    thought: str | None
    calls: tuple[Call, ...]


def read_reply(text: str) -> Reply:
    """Split a UI-TARS reply into its thought and calls; :class:`ParseError` if it has no call."""
    cleaned = _NOISE.sub("", text)
    markers = [m for m in _MARKER.finditer(cleaned) if _CALL_HEAD.match(cleaned, m.end())]
    if len(markers) > 1:
        raise ParseError(
            f"Found {len(markers)} `Action:` lines; write one Thought and one Action (several "
            "actions go after that one `Action:`, separated by a blank line)."
        )
    if markers:
        calls = _Reader(cleaned, markers[0].end()).calls()
        return Reply(_thought(cleaned[:markers[0].start()]), calls)
    start = len(cleaned) - len(cleaned.lstrip())
    if _CALL_HEAD.match(cleaned, start):
        return Reply(None, _Reader(cleaned, start).calls())
    if _MARKER.search(cleaned):
        raise ParseError("The `Action:` line holds no call. " + FORMAT_HINT)
    raise ParseError("No action found. " + FORMAT_HINT)


def _thought(prefix: str) -> str | None:
    text = _THOUGHT_LABEL.sub("", _THINK_TAG.sub("", prefix)).strip()
    return text or None


class _Reader:
    """A cursor over the text from the first call on."""

    def __init__(self, text: str, pos: int) -> None:
        self.text, self.pos = text, pos

    def calls(self) -> tuple[Call, ...]:
        calls: list[Call] = []
        while True:
            self._skip(_SPACE)
            if self.pos == len(self.text):
                return tuple(calls)
            if self.text[self.pos] == "#":
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end == -1 else end
            elif _CALL_HEAD.match(self.text, self.pos):
                calls.append(self._call())
            else:
                raise ParseError(
                    f"Unexpected text after the action: {brief(self.text[self.pos:])}. End the "
                    "reply with the action; several actions go after one `Action:`, separated "
                    "by a blank line."
                )

    def _call(self) -> Call:
        name = self._name()
        self._skip(" \t")
        self.pos += 1  # the "(" that _CALL_HEAD saw
        args: dict[str, str] = {}
        while True:
            self._skip(_SPACE)
            if self.pos == len(self.text):
                raise ParseError(f"The call `{name}(` is not closed with `)`.")
            if self.text[self.pos] == ")":
                self.pos += 1
                return Call(name, args)
            key = self._keyword(name)
            if key in args:
                raise ParseError(f"`{name}` is given `{key}` twice.")
            args[key] = self._value(name, key)
            self._skip(_SPACE)
            if self.text.startswith(",", self.pos):
                self.pos += 1
            elif not self.text.startswith(")", self.pos) and self.pos < len(self.text):
                raise ParseError(
                    f"Expected `,` or `)` after `{key}=...` in `{name}(`, got "
                    f"{brief(self.text[self.pos:self.pos + 20])}."
                )

    def _keyword(self, name: str) -> str:
        match = _NAME.match(self.text, self.pos)
        if match:
            self.pos = match.end()
            self._skip(" \t")
            if self.text.startswith("=", self.pos):
                self.pos += 1
                self._skip(" \t")
                return match.group()
        raise ParseError(
            f"Write the arguments of `{name}` as name='value', e.g. click(start_box='(x1,y1)')."
        )

    def _value(self, name: str, key: str) -> str:
        char = self.text[self.pos:self.pos + 1]
        if char in ("'", '"'):
            return self._string(char, name, free=key in FREE_TEXT)
        if char in ("(", "["):
            return self._group(name)
        end = self.pos
        while end < len(self.text) and self.text[end] not in ",)\n":
            end += 1
        value, self.pos = self.text[self.pos:end].strip(), end
        return value

    def _string(self, quote: str, name: str, *, free: bool) -> str:
        text, out, i = self.text, [], self.pos + 1
        while i < len(text):
            char = text[i]
            if char == "\\" and i + 1 < len(text):
                out.append(_ESCAPES.get(text[i + 1], text[i:i + 2]))
                i += 2
            elif char == quote and self._closes(i + 1, free):
                self.pos = i + 1
                return "".join(out)
            else:
                out.append(char)
                i += 1
        raise ParseError(
            f"A quoted value in `{name}(` is never closed; end it with {quote} and escape "
            "quotes inside it as \\' or \\\"."
        )

    def _closes(self, pos: int, free: bool) -> bool:
        """Whether a quote just before ``pos`` ends its value: it must be followed by the
        next argument or by ``)``; after free text, by ``)`` that ends the line too."""
        text = self.text
        pos = _skip(text, pos, _SPACE)
        if pos == len(text):
            return True
        if text[pos] == ")":
            if not free:
                return True
            after = _skip(text, pos + 1, " \t")
            return after == len(text) or text[after] in "\r\n#"
        return _NEXT_ARG.match(text, pos) is not None

    def _group(self, name: str) -> str:
        depth, i = 0, self.pos
        while i < len(self.text):
            char = self.text[i]
            depth += (char in "([") - (char in ")]")
            i += 1
            if depth == 0:
                value, self.pos = self.text[self.pos:i], i
                return value
        raise ParseError(f"A bracket in `{name}(` is never closed.")

    def _name(self) -> str:
        match = _NAME.match(self.text, self.pos)
        assert match is not None  # only called where _CALL_HEAD matched
        self.pos = match.end()
        return match.group()

    def _skip(self, chars: str) -> None:
        self.pos = _skip(self.text, self.pos, chars)


def _skip(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos
