"""AndroidControl: offline next-action accuracy on recorded Android episodes.

The release is a set of gzipped TFRecord files (``android_control-NNNNN-of-00020``)
of ``tf.train.Example`` episodes: ``episode_id``, ``goal``, ``screenshots``
(PNG), ``screenshot_widths`` / ``_heights``, ``accessibility_trees``,
``actions`` (JSON, one fewer than screenshots) and ``step_instructions``; a
``splits.json`` beside them lists the episode ids of ``train`` /
``validation`` / ``test``. Every step of an episode is one sample: the model
sees that step's screenshot and, as history, the dataset's own earlier
actions (so one mistake does not spoil the rest of the episode), and is asked
for the next action. ``high`` level gives it the goal; ``low`` level adds the
step instruction.

The files are read with the ``tfrecord`` package from PyPI (the ``eval``
extra): a maintained reader of the TFRecord framing (gzip included) and of
the ``tf.train.Example`` protobuf, on plain ``protobuf`` + ``numpy``, without
TensorFlow. Two properties to know: it sizes a gzipped file by reading it
through once before the first record (one extra decompression per file), and
it does not check the record CRCs (a corrupt record shows up as a protobuf or
JSON error naming the file and record instead).

Scoring, as OS-Atlas and the papers after it do:

- **type**: the predicted action's kind equals the dataset's (a model swipe is a
  scroll: a finger moving up scrolls *down*, as AndroidWorld's actuation
  defines the directions);
- **grounding**: of the clicks and long presses whose type the model got right,
  how many land within 140 units of the true point on a 0-1000 grid of the
  screen (14% of the screen; :data:`~.metrics.CLICK_THRESHOLD` says why);
- **step**: type right and its arguments right: a click or long press within
  14%, the same scroll direction, the typed text or app name matching (exact up
  to case and spacing, or token F1 > 0.5); home, back and wait by type alone.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qwen_gui_agent.actions.decision import HistoryEntry
from qwen_gui_agent.actions.models import (
    Answer,
    Click,
    Drag,
    Key,
    LongPress,
    OpenApp,
    Scroll,
    SystemButton,
    Terminate,
    TypeText,
    Wait,
)
from qwen_gui_agent.agent.evaluation.core import OfflineSuite
from qwen_gui_agent.agent.evaluation.metrics import CLICK_THRESHOLD, grid_distance, text_matches
from qwen_gui_agent.agent.evaluation.score import Sample, Score, outcome_fields
from qwen_gui_agent.agent.evaluation.tables import Table, error_notes, rate
from qwen_gui_agent.errors import DatasetError, FeedbackError, UsageError, brief

if TYPE_CHECKING:
    from qwen_gui_agent.actions.decision import Decision
    from qwen_gui_agent.actions.models import Action
    from qwen_gui_agent.actions.observation import Observation

TYPES = ("click", "long_press", "scroll", "type", "open_app", "navigate_home",
         "navigate_back", "wait")
"""The dataset's action kinds (``input_text`` and ``type`` are both typing here)."""
POINTING = ("click", "long_press")
DIRECTIONS = ("up", "down", "left", "right")
LEVELS = ("high", "low")
SPLITS = ("train", "validation", "test")
LOW_LEVEL_TASK = "{goal}\nNext step: {instruction}"
"""The task at low level: the goal, then the step instruction."""
FEATURES = ("episode_id", "goal", "screenshots", "screenshot_widths", "screenshot_heights",
            "actions", "step_instructions")


@dataclass(frozen=True)
class Truth:
    """One dataset action in the terms it is scored by."""

    type: str
    point: tuple[float, float] | None = None
    direction: str | None = None
    text: str | None = None
    screen: tuple[int, int] = (0, 0)

    def action(self) -> Action:
        """The unified action this step performed, for the history of later steps."""
        w, h = self.screen
        if self.type == "click":
            return Click(x=_pixel(self.point[0], w), y=_pixel(self.point[1], h))
        if self.type == "long_press":
            return LongPress(x=_pixel(self.point[0], w), y=_pixel(self.point[1], h))
        if self.type == "scroll":
            # The swipe a phone model would write: the finger moves against the scroll direction.
            dx, dy = {"down": (0, -1), "up": (0, 1), "left": (1, 0), "right": (-1, 0)}[self.direction]
            cx, cy = w // 2, h // 2
            return Drag(x=cx, y=cy, to_x=_pixel(cx + dx * w / 3, w), to_y=_pixel(cy + dy * h / 3, h))
        if self.type == "type" and self.text:
            return TypeText(text=self.text)
        if self.type == "open_app" and self.text:
            return OpenApp(name=self.text)
        if self.type == "navigate_home":
            return SystemButton(button="home")
        if self.type == "navigate_back":
            return SystemButton(button="back")
        return Wait(seconds=1.0)  # a wait (or typing / opening with an empty name)


def dataset_action(data: Any, screen: tuple[int, int], where: str) -> Truth:
    """An AndroidControl action dict as a :class:`Truth`; DatasetError names what is wrong."""
    if not isinstance(data, dict):
        raise DatasetError(f"{where}: expected a JSON object, got {brief(data)}")
    kind = data.get("action_type")
    if kind in POINTING:
        return Truth(kind, point=_point(data, where), screen=screen)
    if kind == "scroll":
        direction = data.get("direction")
        if direction not in DIRECTIONS:
            raise DatasetError(f"{where}: field 'direction': expected one of "
                               f"{', '.join(DIRECTIONS)}, got {brief(direction)}")
        return Truth("scroll", direction=direction, screen=screen)
    if kind in ("type", "input_text"):
        return Truth("type", text=_text(data, "text", where), screen=screen)
    if kind == "open_app":
        return Truth("open_app", text=_text(data, "app_name", where), screen=screen)
    if kind in ("navigate_home", "navigate_back", "wait"):
        return Truth(kind, screen=screen)
    raise DatasetError(f"{where}: field 'action_type': unknown {brief(kind)} "
                       f"(known: {', '.join(TYPES)}, input_text)")


def predicted(action: Action, screen: tuple[int, int]) -> Truth:
    """The model's action in the dataset's terms (``other`` when it has no counterpart)."""
    if isinstance(action, Click):
        return Truth("click", point=action.point, screen=screen)
    if isinstance(action, LongPress):
        return Truth("long_press", point=action.point, screen=screen)
    if isinstance(action, Drag):
        dx, dy = action.to_x - action.x, action.to_y - action.y
        if dx == dy == 0:
            return Truth("other", screen=screen)
        direction = (("down" if dy < 0 else "up") if abs(dy) >= abs(dx)
                     else ("right" if dx < 0 else "left"))
        return Truth("scroll", direction=direction, screen=screen)
    if isinstance(action, Scroll):
        direction = (("down" if action.dy > 0 else "up") if abs(action.dy) >= abs(action.dx)
                     else ("right" if action.dx > 0 else "left"))
        return Truth("scroll", direction=direction, screen=screen)
    if isinstance(action, TypeText):
        return Truth("type", text=action.text, screen=screen)
    if isinstance(action, OpenApp):
        return Truth("open_app", text=action.name, screen=screen)
    if isinstance(action, (SystemButton, Key)):
        names = [action.button] if isinstance(action, SystemButton) else list(action.keys)
        if names == ["home"]:
            return Truth("navigate_home", screen=screen)
        if names == ["back"]:
            return Truth("navigate_back", screen=screen)
    if isinstance(action, Wait):
        return Truth("wait", screen=screen)
    if isinstance(action, (Answer, Terminate)):
        return Truth(action.type, screen=screen)
    return Truth("other", screen=screen)


def compare(guess: Truth, truth: Truth) -> tuple[dict[str, bool | None], str]:
    """The metrics of one step and why, in words."""
    if guess.type != truth.type:
        return ({"type": False, "grounding": None, "step": False},
                f"predicted {guess.type}, the step is {truth.type}")
    if truth.type in POINTING:
        distance = grid_distance(guess.point, guess.screen, truth.point, truth.screen)
        near = distance <= CLICK_THRESHOLD
        return ({"type": True, "grounding": near, "step": near},
                f"{truth.type} at {list(guess.point)}, {distance:.0f}/1000 from the true "
                f"{[round(v) for v in truth.point]} ({'within' if near else 'beyond'} {CLICK_THRESHOLD})")
    if truth.type == "scroll":
        same = guess.direction == truth.direction
        return ({"type": True, "grounding": None, "step": same},
                f"scroll {guess.direction}, the step scrolls {truth.direction}")
    if truth.type in ("type", "open_app"):
        same = text_matches(guess.text, truth.text)
        return ({"type": True, "grounding": None, "step": same},
                f"{guess.text!r} {'matches' if same else 'does not match'} {truth.text!r}")
    return {"type": True, "grounding": None, "step": True}, f"{truth.type}, as the step"


class AndroidControl(OfflineSuite):
    """The AndroidControl release in ``data`` at ``level`` ``high`` or ``low``.

    ``split``: ``test`` / ``validation`` / ``train`` take the episodes
    ``splits.json`` lists; ``all`` takes every episode. The default is ``test``
    when ``splits.json`` is there, else ``all``.
    """

    name = "androidcontrol"

    def __init__(self, data: Path | str, *, level: str = "high", split: str | None = None) -> None:
        if level not in LEVELS:
            raise UsageError(f"level must be high or low, got {level!r}")
        self.data = Path(data)
        if not self.data.is_dir():
            raise DatasetError(f"{self.data}: no such dataset directory")
        self.level = level
        self.files = sorted(p for p in self.data.glob("android_control*")
                            if p.is_file() and p.suffix != ".json")
        if not self.files:
            raise DatasetError(f"{self.data}: no TFRecord files (android_control-NNNNN-of-NNNNN)")
        splits_file = self.data / "splits.json"
        if split is None:
            split = "test" if splits_file.is_file() else "all"
        if split not in (*SPLITS, "all"):
            raise UsageError(f"split must be one of {', '.join(SPLITS)}, all; got {split!r}")
        self.split = split
        self.episode_ids: set[int] | None = None
        if split != "all":
            if not splits_file.is_file():
                raise DatasetError(f"{splits_file}: missing, and split {split!r} needs it "
                                   "(or pass split 'all')")
            self.episode_ids = _split_ids(splits_file, split)

    def settings(self) -> dict[str, Any]:
        return {"data": str(self.data.resolve()), "level": self.level, "split": self.split,
                "click_threshold": CLICK_THRESHOLD}

    def samples(self) -> Iterator[Sample]:
        for episode in self.episodes():
            yield from self._steps(episode)

    def episodes(self) -> Iterator[dict[str, Any]]:
        """Every episode of the split, checked, in file order."""
        for path in self.files:
            for index, example in _examples(path):
                episode = _episode(example, f"{path}: record {index}")
                if self.episode_ids is None or episode["episode_id"] in self.episode_ids:
                    yield episode

    def _steps(self, episode: dict[str, Any]) -> Iterator[Sample]:
        truths: list[Truth] = episode["truths"]
        history: list[HistoryEntry] = []
        for step, truth in enumerate(truths):
            instruction = episode["step_instructions"][step]
            task = (episode["goal"] if self.level == "high" else
                    LOW_LEVEL_TASK.format(goal=episode["goal"], instruction=instruction))
            yield Sample(
                id=f"{episode['episode_id']}:{step}", task=task,
                load=lambda png=episode["screenshots"][step]: _observation(png),
                groups={"action": truth.type}, target=truth, history=tuple(history),
                input={"episode_id": episode["episode_id"], "step": step, "goal": episode["goal"],
                       "step_instruction": instruction, "level": self.level,
                       "screen": list(truth.screen), "truth": episode["actions"][step]},
            )
            history.append(HistoryEntry(actions=(truth.action(),), screen_size=truth.screen))

    def score(self, sample: Sample, observation: Observation,
              outcome: Decision | FeedbackError) -> Score:
        fields = outcome_fields(outcome)
        truth: Truth = sample.target
        if isinstance(outcome, FeedbackError):
            metrics: dict[str, bool | None] = {"type": False, "grounding": None, "step": False}
            return Score(sample.id, sample.groups, metrics, False, f"unusable output: {outcome}",
                         input=sample.input, **fields)
        guess = predicted(outcome.actions[0], (observation.width, observation.height))
        metrics, why = compare(guess, truth)
        return Score(sample.id, sample.groups, metrics, bool(metrics["step"]), why,
                     input=sample.input, extra={"predicted_type": guess.type}, **fields)

    def summarize(self, scores: Sequence[Score]) -> tuple[dict[str, Any], list[Table]]:
        table = Table(f"AndroidControl ({self.level} level, split {self.split}): accuracy % "
                      "(correct/total)", ["action", "steps", "type", "grounding", "step"])
        kinds = [t for t in TYPES if any(s.groups["action"] == t for s in scores)]
        for label in [*kinds, "overall"]:
            where = (lambda s: True) if label == "overall" else (lambda s, t=label: s.groups["action"] == t)
            table.rows.append([label, str(sum(1 for s in scores if where(s))),
                               *(rate(scores, m, where).cell() for m in ("type", "grounding", "step"))])
        table.notes.append(f"grounding: clicks and long presses of the right type within "
                           f"{CLICK_THRESHOLD} of 1000 (14% of the screen) of the true point")
        table.notes += error_notes(scores)
        grounding = rate(scores, "grounding", lambda s: s.groups["action"] in POINTING)
        metrics = {"type": rate(scores, "type").to_json(), "grounding": grounding.to_json(),
                   "step": rate(scores, "step").to_json(),
                   "by_action": {t: rate(scores, "step", lambda s, t=t: s.groups["action"] == t).to_json()
                                 for t in kinds}}
        return metrics, [table]


# -- reading the release ------------------------------------------------------------------
def _examples(path: Path) -> Iterator[tuple[int, Any]]:
    """``(record index, tf.train.Example)`` of a gzipped TFRecord file."""
    try:
        from tfrecord import example_pb2
        from tfrecord.reader import tfrecord_iterator
    except ImportError as exc:
        raise UsageError("reading AndroidControl needs the `tfrecord` package: "
                         "pip install 'qwen-gui-agent[eval]'") from exc
    from google.protobuf.message import DecodeError

    index = 0  # the record being read
    try:
        for record in tfrecord_iterator(str(path), compression_type="gzip"):
            example = example_pb2.Example()
            try:
                example.ParseFromString(bytes(record))
            except DecodeError as exc:
                raise DatasetError(f"{path}: record {index}: not a tf.train.Example ({exc})") from exc
            yield index, example
            index += 1
    except (OSError, EOFError, RuntimeError, zlib.error) as exc:  # not gzip, cut short, corrupt
        raise DatasetError(f"{path}: record {index}: cannot read the gzipped TFRecord ({exc})") from exc


def _episode(example: Any, where: str) -> dict[str, Any]:
    """The fields of one episode, checked against each other."""
    features = example.features.feature

    def values(name: str, kind: str) -> list[Any]:
        if name not in features:
            raise DatasetError(f"{where}: field {name!r} is missing")
        feature = features[name]
        if feature.WhichOneof("kind") != kind:
            raise DatasetError(f"{where}: field {name!r}: expected {kind}, "
                               f"got {feature.WhichOneof('kind')}")
        return list(getattr(feature, kind).value)

    ids = values("episode_id", "int64_list")
    goal = values("goal", "bytes_list")
    if len(ids) != 1 or len(goal) != 1:
        raise DatasetError(f"{where}: fields 'episode_id' and 'goal' must hold one value each")
    episode_id = int(ids[0])
    where = f"{where} (episode {episode_id})"
    screenshots = values("screenshots", "bytes_list")
    widths = values("screenshot_widths", "int64_list")
    heights = values("screenshot_heights", "int64_list")
    raw_actions = values("actions", "bytes_list")
    instructions = [_utf8(v, where, "step_instructions") for v in values("step_instructions", "bytes_list")]
    if not len(screenshots) == len(widths) == len(heights):
        raise DatasetError(f"{where}: {len(screenshots)} screenshots but {len(widths)} widths and "
                           f"{len(heights)} heights")
    if len(raw_actions) != len(screenshots) - 1:
        raise DatasetError(f"{where}: field 'actions': {len(raw_actions)} actions for "
                           f"{len(screenshots)} screenshots (expected one fewer)")
    if len(instructions) != len(raw_actions):
        raise DatasetError(f"{where}: field 'step_instructions': {len(instructions)} for "
                           f"{len(raw_actions)} actions (expected one per action)")
    actions, truths = [], []
    for step, raw in enumerate(raw_actions):
        try:
            data = json.loads(_utf8(raw, where, "actions"))
        except ValueError as exc:
            raise DatasetError(f"{where}: field 'actions' [{step}]: not JSON ({exc})") from exc
        screen = (int(widths[step]), int(heights[step]))
        if screen[0] <= 0 or screen[1] <= 0:
            raise DatasetError(f"{where}: screenshot {step}: size {screen} is not positive")
        actions.append(data)
        truths.append(dataset_action(data, screen, f"{where}: field 'actions' [{step}]"))
    return {"episode_id": episode_id, "goal": _utf8(goal[0], where, "goal"),
            "screenshots": screenshots, "actions": actions, "truths": truths,
            "step_instructions": instructions}


def _split_ids(path: Path, split: str) -> set[int]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DatasetError(f"{path}: not a readable JSON file ({exc})") from exc
    ids = data.get(split) if isinstance(data, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, int) for i in ids):
        raise DatasetError(f"{path}: field {split!r}: expected a list of episode ids")
    return set(ids)


def _observation(png: bytes) -> Observation:
    import io

    from PIL import Image

    from qwen_gui_agent.actions.observation import Observation

    with Image.open(io.BytesIO(png)) as image:
        return Observation(image=image.convert("RGB"), env="android")


def _utf8(value: bytes, where: str, field: str) -> str:
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{where}: field {field!r}: not UTF-8 text ({exc})") from exc


def _point(data: dict[str, Any], where: str) -> tuple[float, float]:
    x, y = data.get("x"), data.get("y")
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (x, y)):
        raise DatasetError(f"{where}: fields 'x'/'y': expected numbers, got {brief(x)}, {brief(y)}")
    return float(x), float(y)


def _text(data: dict[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise DatasetError(f"{where}: field {key!r}: expected a string, got {brief(value)}")
    return value


def _pixel(value: float, size: int) -> int:
    """A dataset coordinate as a pixel of its screen (clamped: the history only describes it)."""
    return min(max(int(round(value)), 0), size - 1)
