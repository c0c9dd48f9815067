"""Real outputs of each family (tests/actions/corpus/*.json) parse to the expected actions.

Each item names its source; expected points were worked out from the family's
published mapping, independently of the code under test. An item with
``error`` is an output the dialect must refuse with a ParseError saying so.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from qwen_gui_agent.actions import ParseError, parse_action
from qwen_gui_agent.actions.dialects import get_dialect

CORPUS = Path(__file__).parent / "corpus"


def _items() -> list[Any]:
    cases = []
    for name in ("qwen25", "qwen3", "uitars"):
        data = json.loads((CORPUS / f"{name}.json").read_text(encoding="utf-8"))
        cases += [pytest.param(data["family"], item, id=f"{name}-{item['id']}")
                  for item in data["items"]]
    return cases


ITEMS = _items()


def test_every_item_says_where_it_comes_from() -> None:
    for param in ITEMS:
        _, item = param.values
        assert item["source"] and item["model"] and item["text"]
        assert ("actions" in item) != ("error" in item)


@pytest.mark.parametrize(("family", "item"), ITEMS)
def test_corpus(family: str, item: dict[str, Any]) -> None:
    dialect = get_dialect(family)
    frame = dialect.frame(*item["screen"])
    if "error" in item:
        with pytest.raises(ParseError, match=re.escape(item["error"])) as caught:
            dialect.parse(item["text"], frame, item["env"])
        assert caught.value.text == item["text"]
        return
    response = dialect.parse(item["text"], frame, item["env"])
    assert response.actions == [parse_action(a) for a in item["actions"]]
    if "thought" in item:
        assert response.thought == item["thought"]
    if "history" in item:
        assert dialect.describe_step(response.actions, frame, item["env"], item["text"]) \
            == item["history"]


def test_a_grid_answer_read_as_pixels_is_plausible_and_wrong() -> None:
    # Why the family must be right: Qwen3-VL's [447, 81] on a 1440x3120 phone means
    # (644, 253); read as Qwen2.5-VL pixels it parses fine and taps (451, 81).
    item = next(p.values[1] for p in ITEMS if p.values[1]["id"] == "cross-family-qwen3-grid")
    meant = [parse_action(a) for a in item["meant"]]
    read = {}
    for family in ("qwen2.5-vl", "qwen3-vl"):
        dialect = get_dialect(family)
        read[family] = dialect.parse(item["text"], dialect.frame(*item["screen"]), "android")
    assert read["qwen3-vl"].actions == meant
    assert read["qwen2.5-vl"].actions != meant
