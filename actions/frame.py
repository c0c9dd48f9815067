"""Coordinate frames: the screenshot a person sees vs. the image the model sees.

Qwen2.5-VL answers in the pixel space of the image it was fed, which is the
screenshot after :func:`smart_resize`. A :class:`Frame` ties the two together
so every conversion goes through one place. :class:`ImageBounds` says how a
model family's image processor resizes (its pixel budget and the multiple each
side is rounded to); the Qwen2.5-VL defaults live here and nowhere else.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from qwen_gui_agent.errors import CoordinateError, UsageError

IMAGE_FACTOR = 28
"""Patch size (14) times the spatial merge size (2): each side is a multiple of it."""
MIN_PIXELS = 4 * 28 * 28
MAX_PIXELS = 16384 * 28 * 28
MAX_ASPECT_RATIO = 200


def smart_resize(
    height: int,
    width: int,
    factor: int = IMAGE_FACTOR,
    min_pixels: int = MIN_PIXELS,
    max_pixels: int = MAX_PIXELS,
) -> tuple[int, int]:
    """Return ``(height, width)`` as Qwen2.5-VL's image processor resizes them.

    Each side is rounded to the nearest multiple of ``factor`` with Python's
    ``round`` (halves to even, as the reference does), then the area is brought
    inside ``[min_pixels, max_pixels]`` keeping the aspect ratio: scaled down
    with ``floor`` or up with ``ceil``, still in multiples of ``factor``.
    """
    if height <= 0 or width <= 0:
        raise UsageError(f"image size must be positive, got {width}x{height}")
    if max(height, width) / min(height, width) > MAX_ASPECT_RATIO:
        raise UsageError(
            f"absolute aspect ratio must be smaller than {MAX_ASPECT_RATIO}, "
            f"got {max(height, width) / min(height, width)}"
        )
    h_bar = round(height / factor) * factor
    w_bar = round(width / factor) * factor
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@dataclass(frozen=True)
class ImageBounds:
    """The bounds of the image a model sees: each side a multiple of ``factor``, area in range.

    The one owner of these settings: "no value given" means :data:`MIN_PIXELS` /
    :data:`MAX_PIXELS` / :data:`IMAGE_FACTOR` here and nowhere else. Policies
    expose theirs as ``image_bounds``, the run header records them, and export
    and replay rebuild every frame from them.
    """

    min_pixels: int = MIN_PIXELS
    max_pixels: int = MAX_PIXELS
    factor: int = IMAGE_FACTOR
    """Patch size times merge size: 28 for Qwen2.5-VL (14 x 2), 32 for Qwen3-VL (16 x 2)."""

    def __post_init__(self) -> None:
        for name in ("min_pixels", "max_pixels", "factor"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"{name} must be a positive integer, got {value!r}")
        if self.min_pixels > self.max_pixels:
            raise UsageError(f"min_pixels {self.min_pixels} > max_pixels {self.max_pixels}")

    @classmethod
    def of(cls, min_pixels: int | None = None, max_pixels: int | None = None,
           factor: int | None = None) -> ImageBounds:
        """Bounds from optional settings (a CLI flag, a keyword): None keeps the default."""
        given = {"min_pixels": min_pixels, "max_pixels": max_pixels, "factor": factor}
        return cls(**{name: value for name, value in given.items() if value is not None})

    def resize(self, width: int, height: int) -> tuple[int, int]:
        """``(width, height)`` of a ``width`` x ``height`` image once resized within these bounds."""
        h, w = smart_resize(height, width, self.factor, self.min_pixels, self.max_pixels)
        return w, h

    def frame(self, screen_width: int, screen_height: int) -> Frame:
        """The frame a screenshot of this size gets under these bounds."""
        return Frame(screen_width, screen_height, self)


@dataclass(frozen=True)
class Frame:
    """The mapping between screenshot pixels and the model's resized image.

    ``to_screen`` and ``to_model`` scale proportionally; a point outside the
    source image raises :class:`CoordinateError` instead of being clamped,
    because clamping turns a wrong answer into a click somewhere else.
    """

    screen_width: int
    screen_height: int
    bounds: ImageBounds = ImageBounds()
    model_width: int = field(init=False)
    model_height: int = field(init=False)

    def __post_init__(self) -> None:
        width, height = self.bounds.resize(self.screen_width, self.screen_height)
        object.__setattr__(self, "model_width", width)
        object.__setattr__(self, "model_height", height)

    @property
    def model_size(self) -> tuple[int, int]:
        """``(width, height)`` of the image the model sees."""
        return self.model_width, self.model_height

    @property
    def image_size(self) -> tuple[int, int]:
        """``(width, height)`` of the image the model is fed (here also its coordinate space)."""
        return self.model_size

    @property
    def screen_size(self) -> tuple[int, int]:
        """``(width, height)`` of the screenshot."""
        return self.screen_width, self.screen_height

    @property
    def image_tokens(self) -> int:
        """Image tokens the model spends on one screenshot (one per ``factor`` x ``factor`` patch)."""
        factor = self.bounds.factor
        return (self.model_width // factor) * (self.model_height // factor)

    def to_screen(self, x: float, y: float) -> tuple[int, int]:
        """Map a model-image point to the screenshot pixel it covers."""
        return (
            scale_axis(x, self.model_width, self.screen_width, "x", "model image"),
            scale_axis(y, self.model_height, self.screen_height, "y", "model image"),
        )

    def to_model(self, x: float, y: float) -> tuple[int, int]:
        """Map a screenshot pixel to the model-image point that covers it."""
        return (
            scale_axis(x, self.screen_width, self.model_width, "x", "screenshot"),
            scale_axis(y, self.screen_height, self.model_height, "y", "screenshot"),
        )


def scale_axis(value: float, source: int, target: int, axis: str, where: str) -> int:
    """One coordinate from a ``source``-wide axis to a ``target``-wide one, proportionally.

    Valid values are ``0 <= value < source`` (the pixels of the source axis);
    anything else raises :class:`CoordinateError` naming ``axis`` and ``where``.
    """
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (
        isinstance(value, float) and not math.isfinite(value)  # ints of any size are fine here
    ):
        raise CoordinateError(f"{axis}={value!r} is not a number")
    if value < 0 or value >= source:
        shown = f"{value:g}" if abs(value) < 1e15 else "a huge number"
        raise CoordinateError(
            f"{axis}={shown} is outside the {where} (valid range 0..{source - 1})"
        )
    return min(target - 1, round(value * target / source))
