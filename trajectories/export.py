"""Recorded runs as supervised fine-tuning data: one sample per usable step.

Each sample is the prompt the model saw at run time, rebuilt by
:func:`qwen_gui_agent.actions.prompt.build_messages` from the run's header and
its earlier steps in the run's model family (``Header.family``), with the
screenshot resized as that family's processor would, and the assistant turn the
model should have produced, written by the family's dialect: the thought, then
the calls in its own syntax and coordinates (``<tool_call>`` JSON in model
pixels or on Qwen3-VL's grid, UI-TARS's ``Action: click(start_box=...)``), so
the data trains the model that produced it. A family whose history is made of
earlier turns (UI-TARS) gives multi-turn samples.

Layouts (``format``):

- ``qwen-vl-finetune`` (QwenLM/Qwen2.5-VL ``qwen-vl-finetune``): ``data.json`` is
  a list of ``{"image": path | [paths], "conversations": [{"from": "human",
  "value": ...}, {"from": "gpt", "value": ...}]}``. That format has no system
  turn (its trainer adds the default one), so the ``# Tools`` section goes at the
  top of the human turn; every image is an ``<image>`` placeholder in place.
- ``llamafactory`` (LLaMA-Factory, sharegpt style): ``data.json`` is a list of
  ``{"messages": [{"role": "system", ...}, {"role": "user", ...}, {"role":
  "assistant", ...}], "images": [paths]}``; ``dataset_info.json`` gets an entry
  ``qwen_gui_agent`` declaring those columns and tags (``system_tag`` included,
  so the first message becomes the system prompt). Use the output folder as
  LLaMA-Factory's ``dataset_dir``.

Image paths are relative to the output folder (``images/<run>_step_0001.png``).
Text stays as recorded, so secrets the recorder redacted stay redacted.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from qwen_gui_agent.actions.coordinates import CoordinateFrame
from qwen_gui_agent.actions.decision import HistoryEntry
from qwen_gui_agent.actions.observation import Observation
from qwen_gui_agent.actions.prompt import build_messages, images_of, messages_to_json
from qwen_gui_agent.actions.tools import DEFAULT_SYSTEM
from qwen_gui_agent.errors import ExportError, ScreenshotError, TrajectoryError, UsageError
from qwen_gui_agent.trajectories.format import Header, StepRecord
from qwen_gui_agent.trajectories.reader import Trajectory, load_trajectory, run_folders

if TYPE_CHECKING:
    from PIL.Image import Image


ExportFormat = Literal["qwen-vl-finetune", "llamafactory"]
FORMATS: tuple[str, ...] = ("qwen-vl-finetune", "llamafactory")
DATA_FILE = "data.json"
IMAGE_DIR = "images"
DATASET_NAME = "qwen_gui_agent"
IMAGE_TOKEN = "<image>"
LLAMAFACTORY_DATASET_INFO: dict[str, Any] = {
    "file_name": DATA_FILE,
    "formatting": "sharegpt",
    "columns": {"messages": "messages", "images": "images"},
    "tags": {
        "role_tag": "role", "content_tag": "content", "user_tag": "user",
        "assistant_tag": "assistant", "system_tag": "system",
    },
}



@dataclass
class ExportSummary:
    """What an export wrote and what it left out, and why."""

    out_dir: Path
    data_file: Path
    format: str
    samples: int = 0
    images: int = 0
    runs: int = 0
    """Runs that passed the filters."""
    runs_filtered: int = 0
    skipped_steps: dict[str, int] = field(default_factory=dict)
    """Steps without a sample, by reason: ``no_decision``, ``action_failed``,
    ``not_performed`` (refused by the guard or the stuck check), ``no_screenshot``,
    ``bad_screenshot``, ``frame_mismatch``, ``no_tool_call``."""
    skipped_runs: list[tuple[str, str]] = field(default_factory=list)
    """Runs that could not be read at all: ``(path, why)``."""
    warnings: list[str] = field(default_factory=list)
    """What a user should know about the data: skipped runs, unusable screenshots, torn files."""


@dataclass
class _Sample:
    system: str
    turns: list[tuple[str, list[dict[str, Any]]]]
    """``(role, parts)`` after the system turn, user and assistant alternating (consecutive
    turns of one role merged); parts are ``{"type": "text", "text"}`` or ``{"type": "image", "path"}``."""
    assistant: str

    @property
    def images(self) -> list[str]:
        return [part["path"] for _, parts in self.turns for part in parts if part["type"] == "image"]

    def texts(self) -> list[tuple[str, str]]:
        """``(role, text)`` of every turn, images as ``<image>``, the answer last."""
        return [(role, "".join(IMAGE_TOKEN if p["type"] == "image" else p["text"] for p in parts))
                for role, parts in self.turns] + [("assistant", self.assistant)]


def export(
    runs: Path | str | Iterable[Path | str],
    out_dir: Path | str,
    format: ExportFormat = "qwen-vl-finetune",  # noqa: A002 (the CLI flag's name)
    status: str | Sequence[str] | None = None,
    min_steps: int | None = None,
    max_steps: int | None = None,
) -> ExportSummary:
    """Write the usable steps of ``runs`` as training samples into ``out_dir``.

    Keyword arguments (one CLI flag each):

    - ``runs``: run folders; a folder holding run folders counts as all of them.
    - ``format``: ``qwen-vl-finetune`` or ``llamafactory`` (see the module docstring).
    - ``status``: keep only runs that ended with this status (or one of these);
      a killed run's status is ``incomplete``.
    - ``min_steps`` / ``max_steps``: keep only runs with that many recorded steps.

    A step yields a sample when the policy decided actions that were all
    performed (or would have been, in a dry run) without failing, and its
    screenshot exists. A run that cannot be read, or a screenshot that cannot be
    used, is skipped with a warning (``summary.warnings``) rather than ending
    the export. The output appears complete or not at all: everything is
    written to a staging folder first; ``data.json`` (rewritten) comes last,
    after its images (added to any already there).
    """
    if format not in FORMATS:
        raise ExportError(f"unknown export format {format!r}; choose {' or '.join(FORMATS)}")
    if min_steps is not None and max_steps is not None and min_steps > max_steps:
        raise ExportError(f"min_steps ({min_steps}) is larger than max_steps ({max_steps})")
    wanted = {status} if isinstance(status, str) else set(status) if status is not None else None
    out = Path(out_dir)
    summary = ExportSummary(out_dir=out, data_file=out / DATA_FILE, format=format)
    paths = _run_dirs(runs)
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    try:
        (stage / IMAGE_DIR).mkdir()
        records: list[dict[str, Any]] = []
        written: set[str] = set()
        for path in paths:
            trajectory = _readable(path, summary)
            if trajectory is None:
                continue
            count = len(trajectory.steps)
            if ((wanted is not None and trajectory.status not in wanted)
                    or (min_steps is not None and count < min_steps)
                    or (max_steps is not None and count > max_steps)):
                summary.runs_filtered += 1
                continue
            summary.runs += 1
            for sample in _samples(trajectory, stage, written, summary):
                records.append(_to_qwen_vl(sample) if format == "qwen-vl-finetune"
                               else _to_llamafactory(sample))
        if summary.skipped_runs and not (summary.runs or summary.runs_filtered):
            raise ExportError("none of the runs could be read: " + "; ".join(
                f"{path}: {why}" for path, why in summary.skipped_runs))
        summary.samples = len(records)
        summary.images = len(written)
        (stage / DATA_FILE).write_text(json.dumps(records, ensure_ascii=False, indent=1),
                                       encoding="utf-8")
        if format == "llamafactory":
            _write_dataset_info(stage / "dataset_info.json", out / "dataset_info.json")
        _publish(stage, out)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
    return summary


def _readable(path: Path, summary: ExportSummary) -> Trajectory | None:
    """The run at ``path``, or None (with a warning) when it cannot be read."""
    try:
        trajectory = load_trajectory(path)
    except TrajectoryError as exc:
        summary.skipped_runs.append((str(path), str(exc)))
        summary.warnings.append(f"skipped the run {path}: {exc}")
        return None
    if trajectory.torn:
        summary.warnings.append(f"{path}: the last line was cut short (the run was killed) and "
                                "is left out")
    return trajectory


def _publish(stage: Path, out: Path) -> None:
    """Move the staged export into ``out``: the whole folder when ``out`` is new; else the
    images first and the data files last, so ``data.json`` never names a missing image."""
    if not out.exists():
        os.replace(stage, out)
        return
    (out / IMAGE_DIR).mkdir(parents=True, exist_ok=True)
    for image in (stage / IMAGE_DIR).iterdir():
        os.replace(image, out / IMAGE_DIR / image.name)
    for name in ("dataset_info.json", DATA_FILE):
        if (stage / name).exists():
            os.replace(stage / name, out / name)


def _run_dirs(runs: Path | str | Iterable[Path | str]) -> list[Path]:
    """Run folders in order; a folder of runs expands to its runs (sorted by name)."""
    paths = [Path(runs)] if isinstance(runs, (str, Path)) else [Path(r) for r in runs]
    found = [run for path in paths for run in run_folders(path)]
    if not found:
        raise ExportError("no runs given")
    return found


def _samples(trajectory: Trajectory, out: Path, written: set[str],
             summary: ExportSummary) -> Iterable[_Sample]:
    """The samples of one run, rebuilding each prompt from the steps before it."""
    header = trajectory.header
    extensions = tuple(header.policy.get("extensions") or ())
    configured = _history_images(header)
    shows = {s.index: _image_count(s.prompt) - 1 if _is_messages(s.prompt) else configured
             for s in trajectory.steps}
    window = max(shows.values(), default=0)
    past: list[_Past] = []
    for step in trajectory.steps:
        try:
            image = trajectory.image(step)
        except ScreenshotError as exc:  # one bad image does not spoil the export
            summary.warnings.append(f"{trajectory.path}: {exc}")
            summary.skipped_steps["bad_screenshot"] = summary.skipped_steps.get("bad_screenshot", 0) + 1
            past.append(_Past(step, _history_entry(step), None))
            continue
        frame = header.frame(*step.screen_size)
        assistant = _assistant(step, frame, header)
        reason = _skip_reason(step, image, frame, assistant)
        if reason is not None:
            summary.skipped_steps[reason] = summary.skipped_steps.get(reason, 0) + 1
        else:
            count = shows[step.index]
            pictured = {id(p) for p in past[-count:]} if count > 0 else set()
            entries = [
                replace(p.entry, observation=_observation(p.step, p.image))
                if id(p) in pictured and p.image is not None else p.entry
                for p in past
            ]
            messages = build_messages(
                header.task, _observation(step, image), entries, frame, dialect=header.dialect,
                history_images=max(count, 0), extensions=extensions,
            )
            names = [_image_name(trajectory, p.step) for p in past
                     if id(p) in pictured and p.image is not None]
            yield _sample(_prompt_text(step, messages), images_of(messages),
                          [*names, _image_name(trajectory, step)], out, written, assistant or "")
        past.append(_Past(step, _history_entry(step), image if window else None))
        if window and len(past) > window:
            past[-window - 1].image = None


@dataclass
class _Past:
    """An earlier step: its record, how the policy saw it, and its screenshot while shown."""

    step: StepRecord
    entry: HistoryEntry
    image: Image | None


def _history_images(header: Header) -> int:
    """How many past screenshots the run's prompts showed, by the header's settings.

    The policy's ``history_images`` says how many a prompt shows, the agent's how
    many past observations it kept; the smaller one applies. A step's recorded
    prompt, when there is one, says it exactly and takes precedence.
    """
    agent = (header.model_extra or {}).get("agent") or {}
    known = [int(v) for v in (header.policy.get("history_images"), agent.get("history_images"))
             if v is not None]
    return min(known) if known else 0


def _history_entry(step: StepRecord) -> HistoryEntry:
    return HistoryEntry(actions=tuple(step.actions), raw=step.raw or "", thought=step.thought,
                        feedback=step.feedback, screen_size=step.screen_size)


def _observation(step: StepRecord, image: Image | None) -> Observation:
    meta = step.observation
    return Observation(image=image, env=meta.env, timestamp=meta.timestamp,  # type: ignore[arg-type]
                       app=meta.app, url=meta.url, title=meta.title, monitor=meta.monitor)


def _image_name(trajectory: Trajectory, step: StepRecord) -> str:
    return f"{IMAGE_DIR}/{trajectory.path.name}_step_{step.index:04d}.png"


def _skip_reason(step: StepRecord, image: Image | None, frame: CoordinateFrame,
                 assistant: str | None) -> str | None:
    if not step.decided or not step.actions:
        return "no_decision"
    if step.error is not None:
        return "action_failed"
    if step.feedback is not None or "performed" in step.extra:
        # declined or blocked by the guard, held back by stuck detection, or cut short:
        # training on it would teach what the user or the loop refused
        return "not_performed"
    if image is None:
        return "no_screenshot"
    if step.model_size is not None and tuple(step.model_size) != frame.model_size:
        return "frame_mismatch"
    if assistant is None:
        return "no_tool_call"
    return None


def _assistant(step: StepRecord, frame: CoordinateFrame, header: Header) -> str | None:
    """The step as the run's model family writes it: its own syntax and coordinates, the
    thought first; None when the family has no call for one of the actions."""
    try:
        return header.dialect.render(step.actions, frame, header.env, step.thought)
    except UsageError:
        return None


def _prompt_text(step: StepRecord, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The prompt's text as sent: the recorded messages when they fit the rebuilt images.

    The rebuilt prompt is the same by construction; the recorded one still wins
    because it also reflects settings a header may lack (e.g. a custom policy's).
    """
    rebuilt = messages_to_json(messages)
    recorded = step.prompt
    if _is_messages(recorded) and _image_count(recorded) == _image_count(rebuilt):
        return recorded
    return rebuilt


def _is_messages(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(m, dict) and isinstance(m.get("content"), list)
        and all(isinstance(p, dict) and p.get("type") in ("text", "image") for p in m["content"])
        for m in value
    ) and bool(value)


def _image_count(messages: list[dict[str, Any]]) -> int:
    return sum(p["type"] == "image" for m in messages for p in m["content"])


def _sample(messages: list[dict[str, Any]], images: list[Image], names: list[str], out: Path,
            written: set[str], assistant: str) -> _Sample:
    """Save the prompt's images under ``names`` (once each) and flatten the messages."""
    if not len(images) == len(names) == _image_count(messages):
        raise ExportError(f"the prompt shows {_image_count(messages)} images, "
                          f"{len(images)} were rebuilt, expected {len(names)}")
    for name, image in zip(names, images):
        if name not in written:
            image.save(out / name, format="PNG")
            written.add(name)
    system = "".join(p["text"] for m in messages if m["role"] == "system" for p in m["content"]
                     if p["type"] == "text")
    pending = iter(names)
    turns: list[tuple[str, list[dict[str, Any]]]] = []
    for message in messages:
        if message["role"] == "system":
            continue
        parts = [{"type": "image", "path": next(pending)} if p["type"] == "image"
                 else {"type": "text", "text": p["text"]} for p in message["content"]]
        if turns and turns[-1][0] == message["role"]:
            turns[-1][1].extend(parts)
        else:
            turns.append((message["role"], parts))
    return _Sample(system=system, turns=turns, assistant=assistant)


def _to_qwen_vl(sample: _Sample) -> dict[str, Any]:
    tools = sample.system.removeprefix(DEFAULT_SYSTEM).lstrip("\n")
    images = sample.images
    conversations = [{"from": "human" if role == "user" else "gpt", "value": text}
                     for role, text in sample.texts()]
    if tools:  # no system turn in this format: the tools open the first human turn
        conversations[0]["value"] = f"{tools}\n\n{conversations[0]['value']}"
    return {"image": images[0] if len(images) == 1 else images, "conversations": conversations}


def _to_llamafactory(sample: _Sample) -> dict[str, Any]:
    return {
        "messages": [{"role": "system", "content": sample.system},
                     *({"role": role, "content": text} for role, text in sample.texts())],
        "images": sample.images,
    }


def _write_dataset_info(path: Path, existing: Path) -> None:
    """Add (or refresh) this export's entry, keeping any other datasets ``existing`` lists."""
    try:
        info = json.loads(existing.read_text(encoding="utf-8")) if existing.is_file() else {}
    except ValueError as exc:
        raise ExportError(f"{existing} is not valid JSON ({exc}); fix or remove it") from exc
    if not isinstance(info, dict):
        raise ExportError(f"{existing} is not a JSON object of datasets; fix or remove it")
    info[DATASET_NAME] = LLAMAFACTORY_DATASET_INFO
    path.write_text(json.dumps(info, indent=2), encoding="utf-8")
