"""Values derived from an object, kept exactly as long as that object lives.

Screenshots stay in the history for a few steps; what is derived from them
(the model-size copy, its encoded PNG) should be computed once and dropped
with them. Images compare by content, so they cannot be dictionary keys:
entries are keyed by identity and removed when the key is collected.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class IdentityCache(Generic[K, V]):
    """``get(key, compute)`` computes once per live ``key`` object; thread-safe."""

    def __init__(self) -> None:
        self._entries: dict[int, tuple[weakref.ref[K], V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, compute: Callable[[K], V]) -> V:
        ident = id(key)
        with self._lock:
            entry = self._entries.get(ident)
        if entry is not None and entry[0]() is key:
            return entry[1]
        value = compute(key)
        reference = weakref.ref(key, lambda _: self._forget(ident))
        with self._lock:
            self._entries[ident] = (reference, value)
        return value

    def _forget(self, ident: int) -> None:
        with self._lock:
            self._entries.pop(ident, None)

    def __len__(self) -> int:
        return len(self._entries)
