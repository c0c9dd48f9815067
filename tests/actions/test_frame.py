"""smart_resize and Frame: the model image size and the mapping between the two pixel spaces."""

from __future__ import annotations

import ast
import importlib.util
import inspect
import math
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from qwen_gui_agent.actions import CoordinateError, Frame, smart_resize
from qwen_gui_agent.actions.frame import MAX_PIXELS, MIN_PIXELS, ImageBounds

FACTOR = 28


def reference_resize(
    height: int, width: int, min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS
) -> tuple[int, int]:
    """Straightforward restatement of Qwen2.5-VL's rule, written independently.

    Nearest multiple of 28 with ties to even, computed exactly with fractions;
    then, if the area is out of bounds, both sides scaled by the same factor and
    floored (too big) or ceiled (too small) to a multiple of 28.
    """
    if Fraction(max(height, width), min(height, width)) > 200:
        raise ValueError("aspect ratio over 200")

    def nearest(side: int) -> int:
        q, r = divmod(side, FACTOR)
        if 2 * r > FACTOR or (2 * r == FACTOR and q % 2 == 1):
            q += 1
        return q * FACTOR

    h, w = nearest(height), nearest(width)
    if h * w > max_pixels:
        scale = math.sqrt(height * width / max_pixels)
        h = max(FACTOR, FACTOR * math.floor(height / scale / FACTOR))
        w = max(FACTOR, FACTOR * math.floor(width / scale / FACTOR))
    elif h * w < min_pixels:
        scale = math.sqrt(min_pixels / (height * width))
        h = FACTOR * math.ceil(height * scale / FACTOR)
        w = FACTOR * math.ceil(width * scale / FACTOR)
    return h, w


sides = st.integers(min_value=1, max_value=20_000)
half_way = st.integers(min_value=0, max_value=700).map(lambda k: FACTOR * k + FACTOR // 2)


@settings(max_examples=3000, deadline=None)
@given(height=st.one_of(sides, half_way), width=st.one_of(sides, half_way))
@example(height=1080, width=1920)
@example(height=14, width=42)  # both sides exactly half-way: 0.5 -> 0 and 1.5 -> 2
@example(height=70, width=98)  # 2.5 -> 2 and 3.5 -> 4
@example(height=1, width=200)
@example(height=1, width=201)
def test_smart_resize_matches_independent_implementation(height: int, width: int) -> None:
    try:
        expected = reference_resize(height, width)
    except ValueError:
        with pytest.raises(ValueError, match="aspect ratio"):
            smart_resize(height, width)
        return
    h, w = smart_resize(height, width)
    assert (h, w) == expected
    assert h % FACTOR == 0 and w % FACTOR == 0


@settings(max_examples=500, deadline=None)
@given(
    height=sides, width=sides,
    min_pixels=st.sampled_from([4 * 28 * 28, 256 * 28 * 28, 3136]),
    max_pixels=st.sampled_from([16384 * 28 * 28, 1280 * 28 * 28, 2_007_040, 28 * 28 * 16]),
)
def test_smart_resize_custom_bounds(height: int, width: int, min_pixels: int, max_pixels: int) -> None:
    try:
        expected = reference_resize(height, width, min_pixels, max_pixels)
    except ValueError:
        return
    assert smart_resize(height, width, min_pixels=min_pixels, max_pixels=max_pixels) == expected


def test_half_way_rounds_to_even() -> None:
    # 28*k + 14: k even rounds down, k odd rounds up (Python's round).
    assert smart_resize(28 * 38 + 14, 28 * 20) == (28 * 38, 28 * 20)
    assert smart_resize(28 * 39 + 14, 28 * 20) == (28 * 40, 28 * 20)


@pytest.mark.parametrize(("h", "w"), [(1, 201), (10, 2011), (3000, 14)])
def test_extreme_aspect_ratio_errors(h: int, w: int) -> None:
    with pytest.raises(ValueError, match="aspect ratio"):
        smart_resize(h, w)
    with pytest.raises(ValueError):
        Frame(w, h)


def test_non_positive_size_errors() -> None:
    with pytest.raises(ValueError):
        smart_resize(0, 100)


@pytest.fixture(scope="module")
def transformers_smart_resize():
    """transformers' own function; the torchvision-backed module cannot be imported
    without torchvision, so take its PIL sibling's "Copied from" duplicate and
    check that the two function bodies are identical."""
    from transformers.models.qwen2_vl import image_processing_pil_qwen2_vl as pil_module

    spec = importlib.util.find_spec("transformers.models.qwen2_vl.image_processing_qwen2_vl")
    tree = ast.parse(Path(spec.origin).read_text())
    original = next(
        node for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name == "smart_resize"
    )
    copy = ast.parse(inspect.getsource(pil_module.smart_resize)).body[0]
    assert ast.dump(copy) == ast.dump(original)
    return pil_module.smart_resize


@settings(max_examples=500, deadline=None)
@given(height=st.one_of(sides, half_way), width=st.one_of(sides, half_way))
def test_smart_resize_matches_transformers(transformers_smart_resize, height: int, width: int) -> None:
    try:
        theirs = transformers_smart_resize(
            height, width, factor=28, min_pixels=MIN_PIXELS, max_pixels=MAX_PIXELS
        )
    except ValueError:
        with pytest.raises(ValueError):
            smart_resize(height, width)
        return
    assert smart_resize(height, width) == theirs


@pytest.mark.parametrize(
    ("screen", "model", "tokens"),
    [
        ((1080, 2400), (1092, 2408), 39 * 86),
        ((1366, 768), (1372, 756), 49 * 27),
        ((1920, 1080), (1932, 1092), 69 * 39),
        ((2560, 1440), (2548, 1428), 91 * 51),
    ],
)
def test_frame_model_size(screen: tuple[int, int], model: tuple[int, int], tokens: int) -> None:
    frame = Frame(*screen)
    assert frame.screen_size == screen
    assert frame.model_size == model
    assert (frame.model_width, frame.model_height) == model
    assert frame.image_tokens == tokens


SCREENS = [(1080, 2400), (1366, 768), (1920, 1080), (2560, 1440), (3840, 2160)]


@pytest.mark.parametrize("screen", SCREENS)
def test_frame_maps_corners_and_centre(screen: tuple[int, int]) -> None:
    frame = Frame(*screen)
    mw, mh = frame.model_size
    assert frame.to_screen(0, 0) == (0, 0)
    assert frame.to_screen(mw - 1, mh - 1) == (screen[0] - 1, screen[1] - 1)
    assert frame.to_model(screen[0] - 1, screen[1] - 1) == (mw - 1, mh - 1)
    cx, cy = frame.to_screen(mw / 2, mh / 2)
    assert abs(cx - screen[0] / 2) <= 1 and abs(cy - screen[1] / 2) <= 1


@pytest.mark.parametrize("screen", SCREENS)
def test_frame_rejects_points_outside_instead_of_clamping(screen: tuple[int, int]) -> None:
    frame = Frame(*screen)
    mw, mh = frame.model_size
    for x, y in [(mw, 0), (0, mh), (-1, 5), (5, -0.5), (float("nan"), 1), (1, float("inf")),
                 (10**400, 1), (True, 1), (1e300, 1)]:
        with pytest.raises(CoordinateError):
            frame.to_screen(x, y)
    with pytest.raises(CoordinateError, match=f"0..{mw - 1}"):
        frame.to_screen(mw + 10, 0)
    with pytest.raises(CoordinateError, match=f"0..{screen[0] - 1}"):
        frame.to_model(screen[0], 0)


@settings(max_examples=300, deadline=None)
@given(
    screen=st.sampled_from(SCREENS),
    fx=st.floats(0, 1, exclude_max=True),
    fy=st.floats(0, 1, exclude_max=True),
)
def test_round_trip_from_the_coarser_space_is_exact(screen, fx, fy) -> None:
    # Per axis, mapping the coarser grid into the finer one and back loses nothing;
    # the other way round is off by at most one pixel.
    frame = Frame(*screen)
    mx, my = int(fx * frame.model_width), int(fy * frame.model_height)
    sx, sy = int(fx * frame.screen_width), int(fy * frame.screen_height)
    via_screen = frame.to_model(*frame.to_screen(mx, my))
    via_model = frame.to_screen(*frame.to_model(sx, sy))
    for axis, (model_side, screen_side) in enumerate(zip(frame.model_size, frame.screen_size)):
        if model_side <= screen_side:
            assert via_screen[axis] == (mx, my)[axis]
        if screen_side <= model_side:
            assert via_model[axis] == (sx, sy)[axis]
        assert abs(via_screen[axis] - (mx, my)[axis]) <= 1
        assert abs(via_model[axis] - (sx, sy)[axis]) <= 1


def test_frame_with_small_max_pixels_downscales() -> None:
    frame = Frame(1920, 1080, ImageBounds(max_pixels=1280 * 28 * 28))
    assert frame.model_width * frame.model_height <= 1280 * 28 * 28
    assert frame.model_width < 1920
    x, y = frame.to_screen(frame.model_width // 2, frame.model_height // 2)
    assert abs(x - 960) <= 2 and abs(y - 540) <= 2
