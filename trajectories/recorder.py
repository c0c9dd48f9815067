"""Crash-safe recording of a run (the format is documented in :mod:`.format`).

The loop calls :meth:`Recorder.record_step` once per step. The step's line is
written, flushed and fsynced before the call returns, so a killed process
keeps it; the screenshot's PNG encoding (tens of milliseconds for a large
screen) runs on a background thread behind a bounded queue, off the step's
critical path, and the file appears atomically once complete.
"""

from __future__ import annotations

import json
import os
import queue
import re
import sys
import threading
from dataclasses import asdict, is_dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from pydantic import BaseModel

from qwen_gui_agent._text import needs_repair, repair
from qwen_gui_agent.errors import RecorderError
from qwen_gui_agent.trajectories.format import (
    FORMAT_VERSION,
    SCREENSHOT_DIR,
    TRAJECTORY_FILE,
    Header,
    ObservationMeta,
    OutcomeRecord,
    StepRecord,
    Summary,
    screenshot_name,
)

if TYPE_CHECKING:
    from PIL.Image import Image

    from qwen_gui_agent.actions.decision import Decision
    from qwen_gui_agent.actions.observation import Observation, Outcome

Redactor = Callable[[str], str]

_STRUCTURAL_KEYS = frozenset({"type", "screenshot", "format_version"})
"""Keys whose values are format vocabulary, never user data: not passed to ``redact``."""



def new_run_dir(root: Path | str, label: str = "") -> Path:
    """Create and return a fresh run directory under ``root``.

    Names start with the UTC time to the microsecond (``20250101-120000-123456``)
    so they sort chronologically; ``label`` (a task, say) follows as a short
    slug of ``[a-z0-9-]``. An existing name gets a numeric suffix, never reused.
    A folder that cannot be created is a :class:`RecorderError` saying where.
    """
    root = Path(root)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S-%f")
    slug = "-".join(re.findall(r"[a-z0-9]+", label.lower()))[:40].strip("-")
    base = f"{stamp}-{slug}" if slug else stamp
    try:
        root.mkdir(parents=True, exist_ok=True)
        for attempt in range(1000):
            path = root / (base if attempt == 0 else f"{base}-{attempt}")
            try:
                path.mkdir()
            except FileExistsError:
                continue
            return path
    except OSError as exc:
        raise RecorderError(f"cannot create a run folder under {root}: {exc.strerror or exc}; "
                            "record somewhere writable (--record DIR)") from exc
    raise RecorderError(f"could not create a unique run directory under {root}")


def default_versions() -> dict[str, str]:
    """Versions worth keeping with a run, read without importing heavy packages."""
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": sys.version.split()[0], "format": str(FORMAT_VERSION)}
    for name in ("qwen-gui-agent", "transformers", "torch", "playwright", "adbutils"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


class Recorder:
    """Writes one run's trajectory directory. Use as a context manager.

    ``header`` holds the :class:`~.format.Header` fields (``task`` and ``env``
    are required; ``versions`` is filled in when absent). ``redact`` is applied
    to every string written. ``queue_size`` bounds the screenshots waiting to
    be encoded: when the disk is slower than the loop, ``record_step`` waits
    rather than letting memory grow. ``png_compress_level`` trades file size
    for encoding time (zlib level 0-9).
    """

    def __init__(
        self,
        run_dir: Path | str,
        header: dict[str, Any],
        redact: Redactor | None = None,
        *,
        queue_size: int = 8,
        png_compress_level: int = 3,
    ) -> None:
        self.path = Path(run_dir)
        self._redact = redact
        self._compress_level = png_compress_level
        record = Header.model_validate(
            {"versions": default_versions(), **_jsonable(header), "format_version": FORMAT_VERSION}
        )
        (self.path / SCREENSHOT_DIR).mkdir(parents=True, exist_ok=True)
        try:
            self._file = open(self.path / TRAJECTORY_FILE, "x", encoding="utf-8")
        except FileExistsError:
            raise RecorderError(
                f"{self.path / TRAJECTORY_FILE} already exists; record each run into a "
                "new directory (see new_run_dir)"
            ) from None
        self.header = record
        self.last_index: int | None = None
        self.steps_written = 0
        """The index of the last step line written: a caller interrupted mid-call
        (Ctrl-C) can tell whether its step is already on disk."""
        _fsync_dir(self.path)
        self._finished = False
        self._closed = False
        self._failure: BaseException | None = None
        self._queue: queue.Queue[tuple[Image, Path] | None] = queue.Queue(maxsize=queue_size)
        self._write(record)
        self._worker = threading.Thread(target=self._encode_loop, name="trajectory-png", daemon=True)
        self._worker.start()

    # -- the loop's calls ---------------------------------------------------------
    def record_step(
        self,
        *,
        index: int,
        observation: Observation,
        decision: Decision | None,
        outcome: Outcome | None,
        error: str | None,
        feedback: str | None,
        timings: dict[str, float],
        executed: bool = True,
        prompt: Any = None,
        raw: str | None = None,
        extra: dict[str, Any] | None = None,
    ) -> StepRecord:
        """Append one step; return the record as written (redacted).

        ``prompt`` defaults to ``decision.prompt`` (the messages the policy sent).

        ``decision`` is None, or holds no actions, when the policy's output could
        not be used (``error`` says why; pass the model's text as ``raw`` if there
        was any; a decision without actions still records its prompt, token
        counts and timings). ``observation.image``
        must not be modified afterwards: it is encoded in the background.
        """
        self._check_open()
        name = screenshot_name(index)
        fields: dict[str, Any] = {
            "index": index,
            "observation": ObservationMeta.model_validate(_jsonable(observation.metadata())),
            "screenshot": name,
            "prompt": _jsonable(
                prompt if prompt is not None else getattr(decision, "prompt", None),
                observation.image, name,
            ),
            "raw": raw,
            "decided": decision is not None and bool(decision.actions),
            "executed": executed,
            "outcome": None if outcome is None else OutcomeRecord(
                duration_s=outcome.duration_s, info=_jsonable(outcome.info)
            ),
            "error": error,
            "feedback": feedback,
            "timings": dict(timings),
            "extra": _jsonable(extra or {}),
        }
        if decision is not None:
            fields.update(
                raw=decision.raw if raw is None else raw,
                thought=decision.thought,
                actions=list(decision.actions),
                model_calls=_jsonable(decision.model_calls),
                model_size=decision.model_size,
                prompt_tokens=decision.prompt_tokens,
                output_tokens=decision.output_tokens,
                model_timings=dict(decision.timings),
            )
        record = StepRecord(**fields)
        written = self._write(record)
        self.last_index = index
        self.steps_written += 1
        self._enqueue(observation.image, self.path / name)
        return StepRecord.model_validate(written)

    def finish(
        self, *, status: str, answer: str | None = None, message: str | None = None, steps: int
    ) -> Summary:
        """Write the summary line. A run without one reads back as ``incomplete``."""
        self._check_open()
        written = self._write(Summary(status=status, answer=answer, message=message, steps=steps))
        self._finished = True
        return Summary.model_validate(written)

    def close(self) -> None:
        """Wait for pending screenshots, then close the file. Idempotent.

        Raises :class:`RecorderError` if a screenshot could not be written.
        """
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._worker.join()
        self._file.close()
        self._raise_failure()

    def __enter__(self) -> Recorder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise RecorderError(f"the recorder for {self.path} is closed")
        if self._finished:
            raise RecorderError(f"the run in {self.path} is finished; nothing can follow its summary")
        self._raise_failure()

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise RecorderError(f"writing a screenshot in {self.path} failed: {self._failure}") from (
                self._failure
            )

    def _write(self, record: BaseModel) -> dict[str, Any]:
        data = _redact_tree(record.model_dump(mode="json"), self._redact)
        line = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        if needs_repair(line):  # a lone surrogate from a model or a page: keep the step, say so
            data = _repair_tree(data)
            data.setdefault("extra", {})["text_repaired"] = (
                "text held lone UTF-16 surrogates, written as U+FFFD")
            line = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
        self._file.write(line + "\n")
        self._file.flush()
        os.fsync(self._file.fileno())
        return data

    def _enqueue(self, image: Image, target: Path) -> None:
        self._queue.put((image, target))

    def _encode_loop(self) -> None:
        while (item := self._queue.get()) is not None:
            if self._failure is not None:
                continue
            image, target = item
            try:
                write_png_atomically(image, target, self._compress_level)
            except Exception as exc:  # reported by the next record_step / close
                self._failure = exc


def write_png_atomically(image: Image, target: Path, compress_level: int = 3) -> None:
    """Encode ``image`` to ``target`` so that ``target`` is either absent or complete."""
    partial = target.with_name(target.name + ".part")
    with open(partial, "wb") as handle:
        image.save(handle, format="PNG", compress_level=compress_level)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(partial, target)
    _fsync_dir(target.parent)


def _fsync_dir(path: Path) -> None:
    """Make a new directory entry durable too (a power cut, not just a killed process)."""
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _redact_tree(value: Any, redact: Redactor | None, key: str | None = None) -> Any:
    """Apply ``redact`` to every string value (not to keys or format vocabulary)."""
    if redact is None:
        return value
    if isinstance(value, str):
        return value if key in _STRUCTURAL_KEYS else redact(value)
    if isinstance(value, dict):
        return {k: _redact_tree(v, redact, k) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact_tree(v, redact, key) for v in value]
    return value


def _repair_tree(value: Any) -> Any:
    """:func:`repair` applied to every string, keys included."""
    if isinstance(value, str):
        return repair(value)
    if isinstance(value, dict):
        return {repair(k): _repair_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_repair_tree(v) for v in value]
    return value


def _jsonable(value: Any, screenshot: Image | None = None, name: str | None = None) -> Any:
    """A JSON-ready copy of ``value``; images become their file name or ``image:WxH``.

    Paths become strings; anything else unknown becomes its ``repr`` rather than
    failing the step.
    """
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if screenshot is not None and value is screenshot:
        return name
    if isinstance(value, dict):
        return {str(k): _jsonable(v, screenshot, name) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, screenshot, name) for v in value]
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if is_dataclass(value) and not isinstance(value, type):
        return _jsonable(asdict(value), screenshot, name)
    size = getattr(value, "size", None)
    if hasattr(value, "getpixel") and isinstance(size, tuple):
        return f"image:{size[0]}x{size[1]}"
    return repr(value)
