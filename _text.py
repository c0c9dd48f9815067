"""Text from models and screens, made safe to write: no lone surrogates.

JSON can carry ``"\\ud800"``, a half of a UTF-16 pair that no UTF-8 file,
terminal or tokenizer accepts. One such character must not end a run or lose a
step, so text bound for a file, a terminal or a tokenizer goes through
:func:`repair` first, which replaces each lone surrogate with U+FFFD (a valid
pair that arrived as two halves becomes its one character).
"""

from __future__ import annotations

import re

_SURROGATE = re.compile("[\ud800-\udfff]")
REPLACEMENT = "\ufffd"


def needs_repair(text: str) -> bool:
    """Whether ``text`` holds a surrogate code point (valid UTF-8 cannot)."""
    return _SURROGATE.search(text) is not None


def repair(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD and split pairs joined."""
    if not needs_repair(text):
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
