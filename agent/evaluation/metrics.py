"""The scoring rules, each as the benchmark that defined it states it."""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

CLICK_GRID = 1000
"""AndroidControl click rule: points are placed on a 0-1000 grid of the screen..."""
CLICK_THRESHOLD = 140
"""...and a click is right within 140 grid units (14% of the screen) of the true point: the
tap threshold of Android-in-the-Wild's action matching (0.14 of the screen, in normalised
coordinates), as OS-Atlas and the papers after it apply it to AndroidControl. Its other
branch, "inside the same UI element", needs the element boxes of the accessibility tree,
which the common evaluations do not use either."""
TEXT_F1 = 0.5
"""Typed text and app names: an exact match (case and spacing aside), or token F1 above this."""


@dataclass(frozen=True)
class Box:
    """An axis-aligned box in absolute image pixels, edges included."""

    x1: float
    y1: float
    x2: float
    y2: float

    @classmethod
    def from_xywh(cls, x: float, y: float, w: float, h: float) -> Box:
        """ScreenSpot v1/v2: ``[x, y, width, height]``."""
        return cls(x, y, x + w, y + h)

    @classmethod
    def from_xyxy(cls, x1: float, y1: float, x2: float, y2: float) -> Box:
        """ScreenSpot-Pro: ``[x1, y1, x2, y2]``."""
        return cls(x1, y1, x2, y2)

    def contains(self, x: float, y: float) -> bool:
        """Whether (x, y) lies inside the box or on its edge."""
        return self.x1 <= x <= self.x2 and self.y1 <= y <= self.y2

    def scaled(self, sx: float, sy: float) -> Box:
        return Box(self.x1 * sx, self.y1 * sy, self.x2 * sx, self.y2 * sy)

    def as_list(self) -> list[float]:
        return [_tidy(v) for v in (self.x1, self.y1, self.x2, self.y2)]


def looks_normalised(values: list[float]) -> bool:
    """Whether box numbers are fractions of the image (some mirrors of the sets store them so)
    rather than pixels: every value within [0, 1] and not all of them whole numbers."""
    return all(0 <= v <= 1 for v in values) and not all(float(v).is_integer() for v in values)


def grid_distance(a: tuple[float, float], a_size: tuple[float, float],
                  b: tuple[float, float], b_size: tuple[float, float]) -> float:
    """Distance of two points on the 0-1000 grid of their screens (each given with its size)."""
    ax, ay = a[0] / a_size[0] * CLICK_GRID, a[1] / a_size[1] * CLICK_GRID
    bx, by = b[0] / b_size[0] * CLICK_GRID, b[1] / b_size[1] * CLICK_GRID
    return math.hypot(ax - bx, ay - by)


def _normalise(text: str) -> str:
    return " ".join(text.casefold().split())


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", _normalise(text))


def token_f1(predicted: str, truth: str) -> float:
    """SQuAD-style token F1 of two strings (word tokens, case-folded)."""
    p, t = _tokens(predicted), _tokens(truth)
    if not p or not t:
        return float(p == t)
    common = sum((Counter(p) & Counter(t)).values())
    if not common:
        return 0.0
    precision, recall = common / len(p), common / len(t)
    return 2 * precision * recall / (precision + recall)


def text_matches(predicted: str, truth: str) -> bool:
    """Exact match up to case and spacing, or token F1 above :data:`TEXT_F1`."""
    return _normalise(predicted) == _normalise(truth) or token_f1(predicted, truth) > TEXT_F1


def _tidy(value: float) -> float:
    return int(value) if float(value).is_integer() else round(value, 3)
