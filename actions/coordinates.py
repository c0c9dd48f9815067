"""The coordinate frames model families answer in, beside :class:`~.frame.Frame`.

A family's answers are points in *its* coordinate space; every frame here maps
them to screenshot pixels and back, and raises :class:`CoordinateError` for a
point outside its space instead of clamping it into a click somewhere else.

- Absolute pixels of the resized image (Qwen2.5-VL, UI-TARS-1.5): a
  :class:`~.frame.Frame` itself, sized by the family's :class:`~.frame.ImageBounds`.
- A relative grid (Qwen3-VL): :class:`RelativeFrame`. The model is told the
  screen is ``grid`` x ``grid`` whatever the screenshot's size, and the image it
  is fed is still resized by its own processor (factor 32).

Why the family must be known: nothing in a point says which space it is in. A
Qwen3-VL answer ``[960, 540]`` is the screen's lower right quarter; read as
Qwen2.5-VL pixels of a 1932x1092 image it is the centre. Both are valid points,
so the wrong frame clicks somewhere plausible and wrong. Only values outside a
space (1200 on a 0..999 grid) can be caught.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from qwen_gui_agent.actions.frame import Frame, ImageBounds, scale_axis

Point = tuple[int, int]

GRID = 1000
"""Qwen3-VL's relative grid: points 0..999 on each axis."""


class CoordinateFrame(Protocol):
    """What parsing and rendering need from a frame, whatever the family's space."""

    @property
    def screen_size(self) -> tuple[int, int]:
        """``(width, height)`` of the screenshot."""
        ...

    @property
    def model_size(self) -> tuple[int, int]:
        """``(width, height)`` of the space the model writes points in (what its prompt states)."""
        ...

    @property
    def image_size(self) -> tuple[int, int]:
        """``(width, height)`` of the image the model is fed."""
        ...

    @property
    def bounds(self) -> ImageBounds:
        """The bounds the fed image was sized under."""
        ...

    def to_screen(self, x: float, y: float) -> Point:
        """A model point as the screenshot pixel it means; ``CoordinateError`` outside."""
        ...

    def to_model(self, x: float, y: float) -> Point:
        """A screenshot pixel as the model point that covers it; ``CoordinateError`` outside."""
        ...


@dataclass(frozen=True)
class RelativeFrame:
    """Points on a ``grid`` x ``grid`` space spanning the whole screenshot (Qwen3-VL).

    ``x`` maps to ``round(x * screen_width / grid)``: the official Qwen3-VL
    computer-use cookbook's ``x / 1000 * width``. (Its mobile cookbook and
    OSWorld divide by 999 instead; the two differ by at most ``width / 1000``
    pixels, about 2 on a 1920-pixel axis.) ``image`` is the resized image the
    model sees, which does not change the meaning of a point.
    """

    image: Frame
    grid: int = GRID

    @property
    def screen_size(self) -> tuple[int, int]:
        return self.image.screen_size

    @property
    def model_size(self) -> tuple[int, int]:
        return self.grid, self.grid

    @property
    def image_size(self) -> tuple[int, int]:
        return self.image.model_size

    @property
    def bounds(self) -> ImageBounds:
        return self.image.bounds

    def to_screen(self, x: float, y: float) -> Point:
        width, height = self.screen_size
        return (scale_axis(x, self.grid, width, "x", "relative grid"),
                scale_axis(y, self.grid, height, "y", "relative grid"))

    def to_model(self, x: float, y: float) -> Point:
        width, height = self.screen_size
        return (scale_axis(x, width, self.grid, "x", "screenshot"),
                scale_axis(y, height, self.grid, "y", "screenshot"))
