"""The predictions file: one JSON line per scored sample, appended and flushed as it goes.

Each line is a :class:`~.core.Score` plus ``suite``, ``settings`` and ``model``,
so a file explains itself, and ``resume`` can refuse to continue a file made by
another suite, other settings or another model (the numbers would mix).
A last line cut short by a kill is ignored on resume (and then rewritten).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from qwen_gui_agent.errors import DatasetError, UsageError

if TYPE_CHECKING:
    from qwen_gui_agent.agent.evaluation.score import Score


class PredictionsFile:
    """Appends scores to ``path``; :meth:`open` returns the scores already there (resume)."""

    def __init__(self, path: Path | str, suite: str, settings: dict[str, Any],
                 model: dict[str, Any]) -> None:
        self.path = Path(path)
        self.stamp = {"suite": suite, "settings": _plain(settings), "model": _plain(model)}
        self._file: IO[str] | None = None

    def open(self, resume: bool) -> dict[str, Score]:
        """Start appending; with ``resume`` return the scores the file holds, by id.

        Without ``resume`` an existing non-empty file is refused rather than
        overwritten or silently mixed into.
        """
        done: dict[str, Score] = {}
        keep = 0
        if self.path.exists() and self.path.stat().st_size:
            if not resume:
                raise UsageError(f"{self.path} already holds predictions: pass --resume to continue "
                                 "it, or choose another file")
            done, keep = self._read()
        elif resume and not self.path.exists():
            raise UsageError(f"--resume: {self.path} does not exist")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file = open(self.path, "a+", encoding="utf-8")
        self._file.truncate(keep)  # drop a torn last line
        return done

    def append(self, score: Score) -> None:
        assert self._file is not None, "open() the predictions file first"
        line = {**self.stamp, **score.to_json()}
        self._file.write(json.dumps(line, ensure_ascii=False) + "\n")
        self._file.flush()

    def close(self) -> None:
        if self._file is not None:
            self._file.flush()
            os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def _read(self) -> tuple[dict[str, Score], int]:
        """The scores in the file and the byte length of its complete lines."""
        from qwen_gui_agent.agent.evaluation.score import Score

        content = self.path.read_bytes()
        lines = content.split(b"\n")
        torn = lines.pop()  # after the last newline: empty, or a line cut short
        keep = len(content) - len(torn)
        done: dict[str, Score] = {}
        for number, raw in enumerate(lines, start=1):
            if not raw.strip():
                continue
            try:
                data = json.loads(raw)
                score = Score.from_json(data)
            except (ValueError, TypeError) as exc:
                raise DatasetError(f"{self.path}:{number}: not a prediction line ({exc})") from exc
            for key, value in self.stamp.items():
                if data.get(key) != value:
                    raise UsageError(
                        f"{self.path}:{number} was made with {key} {data.get(key)!r}, this run has "
                        f"{value!r}: resume with the same {key}, or start a new predictions file")
            done[score.id] = score
        return done, keep


def _plain(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as it reads back from JSON (tuples become lists), so stamps compare equal."""
    return json.loads(json.dumps(value))
