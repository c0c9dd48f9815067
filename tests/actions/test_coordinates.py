"""Image bounds per family and the relative grid frame (Qwen3-VL)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qwen_gui_agent.actions.coordinates import GRID, CoordinateFrame, RelativeFrame
from qwen_gui_agent.actions.frame import Frame, ImageBounds, smart_resize
from qwen_gui_agent.errors import CoordinateError, UsageError

QWEN3 = ImageBounds(min_pixels=64 * 32 * 32, max_pixels=16384 * 32 * 32, factor=32)
SCREENS = [(1920, 1080), (1080, 2400), (1366, 768), (2560, 1440), (1001, 999), (640, 480), (7, 1)]


def test_default_bounds_are_qwen25() -> None:
    assert ImageBounds() == ImageBounds(4 * 28 * 28, 16384 * 28 * 28, 28)
    assert Frame(1920, 1080) == ImageBounds().frame(1920, 1080)
    assert Frame(1920, 1080).bounds == ImageBounds()
    assert Frame(1920, 1080, ImageBounds(3136, 12845056)).model_size == (1932, 1092)


@pytest.mark.parametrize(
    ("screen", "image", "tokens"),
    [((1920, 1080), (1920, 1088), 60 * 34), ((1080, 2400), (1088, 2400), 34 * 75),
     ((2560, 1440), (2560, 1440), 80 * 45), ((100, 100), (256, 256), 8 * 8)],
)
def test_factor_32_bounds(screen: tuple[int, int], image: tuple[int, int], tokens: int) -> None:
    frame = QWEN3.frame(*screen)
    assert frame.model_size == frame.image_size == image
    assert frame.bounds.factor == 32 and frame.bounds == QWEN3
    assert frame.image_tokens == tokens
    assert (image[1], image[0]) == smart_resize(screen[1], screen[0], 32, QWEN3.min_pixels,
                                                QWEN3.max_pixels)


@pytest.mark.parametrize(
    ("bounds", "words"),
    [((0, 10, 28), "min_pixels must be a positive integer"), ((100, 10, 28), "min_pixels 100 > max_pixels 10"),
     ((10, 100, 0), "factor must be a positive integer")], ids=["zero", "inverted", "factor"]
)
def test_bounds_validate(bounds: tuple[int, int, int], words: str) -> None:
    with pytest.raises(UsageError, match=words):
        ImageBounds(*bounds)


def test_frames_satisfy_the_protocol() -> None:
    frames: list[CoordinateFrame] = [Frame(10, 10), RelativeFrame(QWEN3.frame(10, 10))]
    assert [f.screen_size for f in frames] == [(10, 10), (10, 10)]


@pytest.mark.parametrize("screen", SCREENS)
def test_relative_grid_maps_corners_and_centre(screen: tuple[int, int]) -> None:
    width, height = screen
    frame = RelativeFrame(QWEN3.frame(width, height))
    assert frame.model_size == (GRID, GRID)
    assert frame.image_size == QWEN3.frame(width, height).model_size
    assert frame.to_screen(0, 0) == (0, 0)
    assert frame.to_screen(999, 999) == (min(width - 1, round(999 * width / 1000)),
                                          min(height - 1, round(999 * height / 1000)))
    assert frame.to_screen(500, 500) == (round(500 * width / 1000), round(500 * height / 1000))
    assert frame.to_model(width - 1, height - 1) == (min(999, round((width - 1) * 1000 / width)),
                                                      min(999, round((height - 1) * 1000 / height)))


def test_the_cookbook_example_lands_where_the_cookbook_draws_it() -> None:
    # Qwen3-VL mobile cookbook: [447, 81] on a 1440x3120 screenshot; the cookbook's
    # x / 999 * W draws at (644, 253); the x / 1000 * W reading is within 2 pixels.
    x, y = RelativeFrame(QWEN3.frame(1440, 3120)).to_screen(447, 81)
    assert (x, y) == (644, 253)
    assert abs(x - round(447 / 999 * 1440)) <= 2 and abs(y - round(81 / 999 * 3120)) <= 2


@pytest.mark.parametrize("screen", SCREENS)
def test_relative_grid_rejects_points_outside_instead_of_clamping(screen: tuple[int, int]) -> None:
    frame = RelativeFrame(QWEN3.frame(*screen))
    for x, y in [(1000, 0), (0, 1000), (-1, 5), (1200, 300), (float("nan"), 1), (True, 1)]:
        with pytest.raises(CoordinateError):
            frame.to_screen(x, y)
    with pytest.raises(CoordinateError, match="0..999"):
        frame.to_screen(1932, 5)
    with pytest.raises(CoordinateError, match=f"0..{screen[0] - 1}"):
        frame.to_model(screen[0], 0)


@settings(max_examples=300, deadline=None)
@given(screen=st.sampled_from(SCREENS), gx=st.integers(0, 999), gy=st.integers(0, 999))
def test_grid_points_survive_a_trip_through_the_screen(screen, gx: int, gy: int) -> None:
    # On an axis at least as wide as the grid, grid -> pixel -> grid is exact;
    # on a narrower one it is off by at most one grid step per pixel.
    frame = RelativeFrame(QWEN3.frame(*screen))
    back = frame.to_model(*frame.to_screen(gx, gy))
    for axis, side in enumerate(screen):
        if side >= GRID:
            assert back[axis] == (gx, gy)[axis]
        else:
            assert abs(back[axis] - (gx, gy)[axis]) <= GRID / side
