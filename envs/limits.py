"""Sane bounds for screen sizes that come from outside (the CLI, a trajectory header on replay).

A size nobody can mean must fail at once with a clear :class:`UsageError`,
before anything starts: a 1e6 x 1e6 browser viewport made Chromium hang for
30 s and then blamed its executable path, and Xvfb would try to allocate the
frame buffer.
"""

from __future__ import annotations

from qwen_gui_agent.errors import UsageError

MAX_SCREEN_SIDE = 16384
"""Longest side of a screenshot in pixels (GPU texture limits; 16K displays do not exist)."""
MAX_SCREEN_PIXELS = 8192 * 8192
"""Largest screenshot area: an 8K display is 33 M pixels, this is twice that (256 MB as RGBA)."""


def check_screen_size(width: int, height: int, what: str) -> tuple[int, int]:
    """``(width, height)`` if both are whole numbers within the bounds above, else a
    UsageError naming ``what`` (checked at run time: the values may come from a file)."""
    if not all(isinstance(v, int) and not isinstance(v, bool) for v in (width, height)):
        raise UsageError(f"{what} must be two whole numbers of pixels, got {width!r}x{height!r}")
    if width < 1 or height < 1:
        raise UsageError(f"{what} must be positive, got {width}x{height}")
    if max(width, height) > MAX_SCREEN_SIDE or width * height > MAX_SCREEN_PIXELS:
        raise UsageError(f"{what} {width}x{height} is too large: at most {MAX_SCREEN_SIDE} pixels a side "
                         f"and {MAX_SCREEN_PIXELS // 1_000_000} M pixels in all")
    return width, height
