"""The one owner of screen comparison: settling, stuck detection and replay all ask here.

Two questions, one method. Both reduce the screenshots to greyscale
thumbnails (box-averaged, which also hides sub-pixel and compression noise)
and count the cells whose grey level differs by more than a tolerance:

- :func:`screens_match`: has the screen changed at all? Fine-grained (a
  quarter of the resolution), same size only; used to wait for a still screen
  and to see that an action changed nothing.
- :func:`screen_similarity`: is this the screen a recording showed? Coarse (a
  thumbnail :data:`COMPARE_WIDTH` cells wide, lightly blurred), so a blinking
  caret, a ticking clock or a different screen size do not count.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image

MATCH_LEVELS = 8
"""Grey levels (of 255) two cells may differ by in :func:`screens_match` and still agree."""
COMPARE_WIDTH = 128
SIMILARITY_LEVELS = 24
"""Grey levels two thumbnail cells may differ by in :func:`screen_similarity` and still agree."""


def _changed_share(a: Image, b: Image, levels: int) -> float:
    """Share of the cells of two equally sized greyscale images that differ by more than ``levels``."""
    from PIL import ImageChops

    histogram = ImageChops.difference(a, b).histogram()
    return sum(histogram[levels + 1:]) / (a.width * a.height)


def screens_match(a: Image, b: Image, tolerance: float = 0.0) -> bool:
    """True when two screenshots differ in at most ``tolerance`` of their (quarter-size) cells.

    ``tolerance`` 0 compares the pixels exactly. Screens of different sizes never match.
    """
    if a.size != b.size:
        return False
    if tolerance <= 0:
        return a.tobytes() == b.tobytes()
    factor = 4 if min(a.size) >= 4 else 1
    small_a, small_b = a.convert("L").reduce(factor), b.convert("L").reduce(factor)
    return _changed_share(small_a, small_b, MATCH_LEVELS) <= tolerance


def screen_similarity(recorded: Image, live: Image) -> float:
    """Share (0..1) of the screen that looks the same in both images, at thumbnail resolution.

    ``live`` is compared at ``recorded``'s aspect ratio, so a screen of another
    size showing the same layout still scores high.
    """
    from PIL import Image as PILImage
    from PIL import ImageFilter

    size = (COMPARE_WIDTH, max(1, round(COMPARE_WIDTH * recorded.height / recorded.width)))

    def thumbnail(image: Image) -> Image:
        small = image.convert("L").resize(size, PILImage.Resampling.BOX)
        return small.filter(ImageFilter.GaussianBlur(1))

    return 1.0 - _changed_share(thumbnail(recorded), thumbnail(live), SIMILARITY_LEVELS)
