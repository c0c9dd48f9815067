"""The scoring rules on their own: boxes, the click grid, text matching, table cells."""

from __future__ import annotations

import pytest

from qwen_gui_agent.agent.evaluation.metrics import (
    Box,
    grid_distance,
    looks_normalised,
    text_matches,
    token_f1,
)
from qwen_gui_agent.agent.evaluation.tables import Rate, Table


def test_xywh_and_xyxy_name_the_same_box_and_edges_count() -> None:
    assert Box.from_xywh(100, 50, 40, 30) == Box.from_xyxy(100, 50, 140, 80)
    box = Box.from_xywh(100, 50, 40, 30)
    for inside in [(100, 50), (140, 80), (100, 80), (120, 65)]:
        assert box.contains(*inside)
    for outside in [(99, 50), (141, 80), (120, 49), (120, 81)]:
        assert not box.contains(*outside)
    assert Box.from_xywh(-5, 200, 40, 40).contains(0, 220)  # a box that starts off the image


def test_normalised_boxes_are_told_from_pixel_boxes() -> None:
    assert looks_normalised([0.1, 0.2, 0.3, 0.4])
    assert not looks_normalised([0, 0, 1, 1])  # a 1-pixel box at the origin, in pixels
    assert not looks_normalised([10, 20, 30, 40])
    assert Box(0.25, 0.5, 0.5, 0.75).scaled(560, 336) == Box(140, 168, 280, 252)


def test_the_click_grid_and_text_rules() -> None:
    assert grid_distance((540, 1200), (1080, 2400), (270, 600), (540, 1200)) == 0  # same place
    assert grid_distance((0, 0), (1000, 1000), (140, 0), (1000, 1000)) == pytest.approx(140)
    assert text_matches("  Hello   WORLD ", "hello world")
    assert text_matches("hello Ann", "hello there Ann") and token_f1("a b", "c d") == 0
    assert not text_matches("Ann", "hello there Ann")  # F1 0.5 is not above 0.5
    assert token_f1("", "") == 1.0


def test_cells_and_rendering() -> None:
    rate = Rate()
    for hit in (True, False, None, True):
        rate.add(hit)
    assert (rate.hits, rate.total, rate.cell()) == (2, 3, "66.7 (2/3)")
    assert Rate().cell() == "-" and Rate().value is None
    table = Table("T", ["row", "a"], [["x", "1.0 (1/1)"], ["overall", "-"]], ["a note"])
    assert table.render().splitlines() == ["T", "row              a", "-" * 18, "x        1.0 (1/1)",
                                           "overall          -", "a note"]
