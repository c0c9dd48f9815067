"""ScreenSpot (v1, v2) and ScreenSpot-Pro: does the model click inside the named element?

Each record is one screenshot and one instruction; the model is asked exactly
as :func:`~qwen_gui_agent.agent.grounding.locate` asks it at run time
("Click on {instruction}.", the policy's prompt, parser and coordinate
mapping), and the answer is right when the point it picks lies inside the
record's box, edges included.

Layouts, as released:

- ScreenSpot (SeeClick) / ScreenSpot-v2 (OS-Atlas): ``DIR/screenspot_{mobile,desktop,web}.json``
  (v2: ``..._v2.json``), images in ``DIR/screenspot_imgs/`` (v2 also
  ``screenspotv2_image/``); records ``img_filename``, ``instruction``,
  ``bbox`` = ``[x, y, w, h]`` in image pixels, ``data_type`` (text/icon), ``data_source``.
- ScreenSpot-Pro: ``DIR/annotations/*.json`` and ``DIR/images/``; records
  ``img_filename``, ``img_size`` ``[w, h]``, ``instruction``, ``bbox`` = ``[x1, y1, x2, y2]``,
  ``ui_type`` (text/icon), ``group``, ``platform``, ``application``.

Boxes stored as fractions of the image (as some mirrors do) are recognised and
scaled by the image size; the predictions file says so for each such record.
"""

from __future__ import annotations

import json
from abc import abstractmethod
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwen_gui_agent.agent.evaluation.core import OfflineSuite
from qwen_gui_agent.agent.evaluation.metrics import Box, looks_normalised
from qwen_gui_agent.agent.evaluation.score import Sample, Score, outcome_fields
from qwen_gui_agent.agent.evaluation.tables import Table, breakdown, error_notes, rate
from qwen_gui_agent.agent.grounding import INSTRUCTION, grounding_task, pointed_at
from qwen_gui_agent.errors import DatasetError, FeedbackError, UsageError, brief

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import Decision
    from qwen_gui_agent.actions.observation import EnvKind, Observation

SPLITS = ("mobile", "desktop", "web")
SPLIT_ENV: dict[str, EnvKind] = {"mobile": "android", "desktop": "desktop", "web": "browser"}
"""Which env a split's screenshots come from, so the prompt offers the tool a run there would
(``mobile_use`` on a phone, ``computer_use`` elsewhere)."""
TYPES = ("text", "icon")
PRO_GROUPS = ("Dev", "Creative", "CAD", "Scientific", "Office", "OS")
"""ScreenSpot-Pro's groups in the order of its published table."""


class GroundingSuite(OfflineSuite):
    """What both ScreenSpot layouts share: records in JSON files, a point-in-box rule."""

    def __init__(self, data: Path | str, *, instruction: str = INSTRUCTION) -> None:
        self.data = Path(data)
        if not self.data.is_dir():
            raise DatasetError(f"{self.data}: no such dataset directory")
        self.instruction = instruction
        self._records: list[tuple[str, dict[str, Any]]] | None = None

    def count(self) -> int:
        return len(self.records())

    def records(self) -> list[tuple[str, dict[str, Any]]]:
        """``(sample id, checked record)`` for every record, read once."""
        if self._records is None:
            self._records = list(self._read())
        return self._records

    @abstractmethod
    def _read(self) -> Iterator[tuple[str, dict[str, Any]]]:
        """``(sample id, record checked and resolved)`` in dataset order."""

    def samples(self) -> Iterator[Sample]:
        for sample_id, record in self.records():
            yield Sample(
                id=sample_id, task=grounding_task(record["instruction"], self.instruction),
                load=lambda r=record: _load_image(r["path"], r["env"]),
                groups=record["groups"], target=record["box"],
                input={"instruction": record["instruction"], "image": record["img_filename"],
                       "bbox": record["bbox"], **record["input"]},
            )

    def score(self, sample: Sample, observation: Observation,
              outcome: Decision | FeedbackError) -> Score:
        fields = outcome_fields(outcome)
        box, notes = self._box(sample, observation)
        extra = {"box": box.as_list(), **notes}
        if isinstance(outcome, FeedbackError):
            return Score(sample.id, sample.groups, {"correct": False}, False,
                         f"unusable output: {outcome}", input=sample.input, extra=extra, **fields)
        try:
            x, y = pointed_at(outcome, sample.input["instruction"])
        except FeedbackError as exc:
            return Score(sample.id, sample.groups, {"correct": False}, False, f"no point: {exc}",
                         input=sample.input, extra=extra, **fields)
        sx, sy = notes.get("scale", (1, 1))
        inside = box.contains(x * sx, y * sy)
        where = f"({x}, {y})" + (f" = ({x * sx:g}, {y * sy:g}) at img_size" if (sx, sy) != (1, 1) else "")
        why = (f"{where} is {'inside' if inside else 'outside'} the box "
               f"[{', '.join(str(v) for v in box.as_list())}]")
        return Score(sample.id, sample.groups, {"correct": inside}, inside, why,
                     input=sample.input, extra={"point": [x, y], **extra}, **fields)

    def _box(self, sample: Sample, observation: Observation) -> tuple[Box, dict[str, Any]]:
        """The record's box in the pixels of the loaded image, and notes on any conversion."""
        box: Box = sample.target
        values = [box.x1, box.y1, box.x2, box.y2]
        if looks_normalised(values):
            return box.scaled(observation.width, observation.height), {"bbox_normalised": True}
        return box, {}


class ScreenSpot(GroundingSuite):
    """ScreenSpot v1 or v2 (``version``); ``images`` overrides the image folder."""

    name = "screenspot"

    def __init__(self, data: Path | str, *, version: int = 2, images: Path | str | None = None,
                 instruction: str = INSTRUCTION) -> None:
        if version not in (1, 2):
            raise UsageError(f"ScreenSpot version must be 1 or 2, got {version}")
        super().__init__(data, instruction=instruction)
        self.version = version
        self.missing: list[str] = []
        if images is not None:
            self.images = Path(images)
            if not self.images.is_dir():
                raise DatasetError(f"{self.images}: no such image directory")
        else:
            names = ("screenspotv2_image", "screenspot_imgs") if version == 2 else ("screenspot_imgs",)
            found = [self.data / n for n in names if (self.data / n).is_dir()]
            if not found:
                raise DatasetError(f"{self.data}: no image folder ({' or '.join(names)}); "
                                   "pass --images DIR where the screenshots are")
            self.images = found[0]

    def settings(self) -> dict[str, Any]:
        return {"data": str(self.data.resolve()), "version": self.version, "images": str(self.images.resolve()),
                "instruction": self.instruction}

    def file(self, split: str) -> Path:
        suffix = "_v2" if self.version == 2 else ""
        return self.data / f"screenspot_{split}{suffix}.json"

    def _read(self) -> Iterator[tuple[str, dict[str, Any]]]:
        files = {split: self.file(split) for split in SPLITS}
        self.missing = [f.name for f in files.values() if not f.is_file()]
        if len(self.missing) == len(SPLITS):
            raise DatasetError(f"{self.data}: none of {', '.join(self.missing)} is there "
                               f"(ScreenSpot v{self.version} layout)")
        for split, path in files.items():
            if not path.is_file():
                continue
            for index, record in enumerate(_json_list(path)):
                where = f"{path}: record {index}"
                bbox = _numbers(record, "bbox", 4, where, "[x, y, w, h]")
                if bbox[2] < 0 or bbox[3] < 0:
                    raise DatasetError(f"{where}: field 'bbox': width and height must be >= 0, "
                                       f"got {bbox} (is it [x1, y1, x2, y2]? ScreenSpot stores [x, y, w, h])")
                kind = _choice(record, "data_type", TYPES, where)
                name = _string(record, "img_filename", where)
                yield f"{split}:{index}", {
                    "instruction": _string(record, "instruction", where), "img_filename": name,
                    "path": _inside(self.images, name, where), "env": SPLIT_ENV[split],
                    "bbox": bbox, "box": Box.from_xywh(*bbox),
                    "groups": {"split": split, "type": kind},
                    "input": {"split": split, "data_type": kind,
                              "data_source": record.get("data_source")},
                }

    def summarize(self, scores: Sequence[Score]) -> tuple[dict[str, Any], list[Table]]:
        table = breakdown(f"ScreenSpot v{self.version}: accuracy % (correct/total)", scores,
                          row="split", rows=SPLITS, column="type", columns=TYPES, metric="correct")
        table.notes += [f"missing split file: {name}" for name in self.missing]
        table.notes += error_notes(scores)
        metrics = {"accuracy": rate(scores, "correct").to_json(),
                   "by_split": {s: rate(scores, "correct", lambda x, s=s: x.groups["split"] == s).to_json()
                                for s in SPLITS},
                   "by_split_type": {f"{s}/{t}": rate(
                       scores, "correct",
                       lambda x, s=s, t=t: x.groups["split"] == s and x.groups["type"] == t).to_json()
                       for s in SPLITS for t in TYPES}}
        return metrics, [table]


class ScreenSpotPro(GroundingSuite):
    """ScreenSpot-Pro: professional desktop software at high resolution."""

    name = "screenspot-pro"

    def __init__(self, data: Path | str, *, instruction: str = INSTRUCTION) -> None:
        super().__init__(data, instruction=instruction)
        self.annotations = self.data / "annotations"
        self.images = self.data / "images"
        for folder in (self.annotations, self.images):
            if not folder.is_dir():
                raise DatasetError(f"{folder}: missing (ScreenSpot-Pro layout: annotations/*.json "
                                   "and images/)")

    def settings(self) -> dict[str, Any]:
        return {"data": str(self.data.resolve()), "instruction": self.instruction}

    def _read(self) -> Iterator[tuple[str, dict[str, Any]]]:
        files = sorted(self.annotations.glob("*.json"))
        if not files:
            raise DatasetError(f"{self.annotations}: no *.json annotation files")
        for path in files:
            for index, record in enumerate(_json_list(path)):
                where = f"{path}: record {index}"
                bbox = _numbers(record, "bbox", 4, where, "[x1, y1, x2, y2]")
                if bbox[2] < bbox[0] or bbox[3] < bbox[1]:
                    raise DatasetError(f"{where}: field 'bbox': x2 < x1 or y2 < y1 in {bbox} "
                                       "(is it [x, y, w, h]? ScreenSpot-Pro stores [x1, y1, x2, y2])")
                size = _numbers(record, "img_size", 2, where, "[width, height]")
                if size[0] <= 0 or size[1] <= 0:
                    raise DatasetError(f"{where}: field 'img_size': must be positive, got {size}")
                kind = _choice(record, "ui_type", TYPES, where)
                group = _string(record, "group", where)
                name = _string(record, "img_filename", where)
                yield f"{path.stem}:{index}", {
                    "instruction": _string(record, "instruction", where), "img_filename": name,
                    "path": _inside(self.images, name, where), "env": "desktop",
                    "bbox": bbox, "box": Box.from_xyxy(*bbox),
                    "groups": {"group": group, "type": kind},
                    "input": {"img_size": size, "ui_type": kind, "group": group,
                              "platform": record.get("platform"),
                              "application": record.get("application")},
                }

    def _box(self, sample: Sample, observation: Observation) -> tuple[Box, dict[str, Any]]:
        """The box is in ``img_size`` pixels: a point is mapped there from the loaded image."""
        box, notes = super()._box(sample, observation)
        width, height = sample.input["img_size"]
        if notes or (observation.width, observation.height) == (width, height):
            return box, notes
        return box, {"scale": (width / observation.width, height / observation.height),
                     "image_size": [observation.width, observation.height]}

    def summarize(self, scores: Sequence[Score]) -> tuple[dict[str, Any], list[Table]]:
        table = breakdown("ScreenSpot-Pro: accuracy % (correct/total)", scores, row="group",
                          rows=PRO_GROUPS, column="type", columns=TYPES, metric="correct")
        table.notes += error_notes(scores)
        groups = sorted({s.groups["group"] for s in scores})
        metrics = {"accuracy": rate(scores, "correct").to_json(),
                   "by_type": {t: rate(scores, "correct", lambda x, t=t: x.groups["type"] == t).to_json()
                               for t in TYPES},
                   "by_group": {g: rate(scores, "correct", lambda x, g=g: x.groups["group"] == g).to_json()
                                for g in groups}}
        return metrics, [table]


# -- reading ------------------------------------------------------------------------------
def _load_image(path: Path, env: EnvKind) -> Observation:
    from PIL import Image

    from qwen_gui_agent.actions.observation import Observation

    with Image.open(path) as image:
        return Observation(image=image.convert("RGB"), env=env)


def _json_list(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable JSON file ({exc})") from exc
    if not isinstance(data, list):
        raise DatasetError(f"{path}: expected a JSON list of records, got {type(data).__name__}")
    for index, record in enumerate(data):
        if not isinstance(record, dict):
            raise DatasetError(f"{path}: record {index}: expected an object, got {brief(record)}")
    return data


def _string(record: dict[str, Any], key: str, where: str) -> str:
    value = record.get(key)
    if not isinstance(value, str) or not value.strip():
        raise DatasetError(f"{where}: field {key!r}: expected a non-empty string, got {brief(value)}")
    return value


def _numbers(record: dict[str, Any], key: str, count: int, where: str, shape: str) -> list[float]:
    value = record.get(key)
    if (not isinstance(value, list) or len(value) != count
            or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in value)):
        raise DatasetError(f"{where}: field {key!r}: expected {shape} ({count} numbers), "
                           f"got {brief(value)}")
    return list(value)


def _choice(record: dict[str, Any], key: str, choices: Sequence[str], where: str) -> str:
    value = record.get(key)
    if value not in choices:
        raise DatasetError(f"{where}: field {key!r}: expected one of {', '.join(choices)}, "
                           f"got {brief(value)}")
    return value


def _inside(folder: Path, name: str, where: str) -> Path:
    """``folder / name``, refusing a name that climbs out of the folder."""
    path = (folder / name).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise DatasetError(f"{where}: field 'img_filename': {name!r} points outside {folder}")
    return path
