"""Finding and decoding the JSON objects in model text."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from qwen_gui_agent.actions.jsonish import (
    _JSON_WORDS,
    MAX_DEPTH,
    iter_objects,
    loads_object,
)


def objects(text: str) -> list[dict]:
    return [obj for _, _, obj in iter_objects(text)]


def test_objects_in_prose_with_spans() -> None:
    text = 'a {"x": 1} b {"y": [2, {"z": 3}]} c'
    found = list(iter_objects(text))
    assert [text[start:end] for start, end, _ in found] == ['{"x": 1}', '{"y": [2, {"z": 3}]}']


def test_braces_inside_strings_do_not_count() -> None:
    assert objects('{"text": "a } b { c"}') == [{"text": "a } b { c"}]
    assert objects("{'text': \"it's } fine\"}") == [{"text": "it's } fine"}]
    assert objects('{"text": "say \\"}\\" now"}') == [{"text": 'say "}" now'}]


def test_truncated_object_is_closed() -> None:
    assert objects('{"a": {"b": [1, 2') == [{"a": {"b": [1, 2]}}]


def test_undecodable_outer_brace_does_not_hide_an_inner_object() -> None:
    assert objects('{ prose {"action": "wait"} more') == [{"action": "wait"}]
    assert objects("{" * 500 + '{"action": "wait"}') == [{"action": "wait"}]


def test_mismatched_brackets_and_open_strings_are_not_objects() -> None:
    assert objects('{"a": ]') == []
    assert objects('{"a": "never closed') == []


def test_nesting_deeper_than_a_tool_call_is_skipped() -> None:
    deep = '{"a": ' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1)
    (start, end, value), = iter_objects(deep)
    assert (start, end) == (6, len(deep) - 1)
    assert value == json.loads('{"a": ' * MAX_DEPTH + "1" + "}" * MAX_DEPTH)


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ('{"a": 1}', {"a": 1}),
        ("{'a': (1, 2), 'b': True, 'c': None}", {"a": (1, 2), "b": True, "c": None}),
        ("{'a': true, 'b': null, 'c': 'true'}", {"a": True, "b": None, "c": "true"}),
        ('{"a": [1, 2,], }', {"a": [1, 2]}),
    ],
)
def test_loads_object_lenient(source: str, value: dict) -> None:
    assert loads_object(source) == value


@pytest.mark.parametrize(
    "source",
    ["[1, 2]", "{1: 2}", "{'a': __import__('os').getcwd()}", "{'a': 2 ** 10000}",
     "{'a': open('x')}", "not json", "{" * 100_000 + "}" * 100_000],
)
def test_loads_object_rejects_non_objects_and_code(source: str) -> None:
    with pytest.raises(ValueError):
        loads_object(source)


@pytest.mark.parametrize("quote", ['"', "'"])
def test_unclosed_escaped_quotes_decode_in_linear_time(quote: str) -> None:
    # Each quote of '"\\"\\"...' used to restart the string pattern: minutes at this size.
    source = quote + ("\\" + quote) * 100_000
    assert _JSON_WORDS.match(source).end() == len(source)
    with pytest.raises(ValueError):
        loads_object(source)


@pytest.mark.parametrize(
    ("source", "value"),
    [
        ('{"a"\uff1a[1\uff0c2]\uff0c"b"\uff1a"x\uff0cy"}', {"a": [1, 2], "b": "x\uff0cy"}),
        ('{\u201ca\u201d: \u201cb "c"\u201d}', {"a": 'b "c"'}),
        ('{"a": "\u201cquoted\u201d"}', {"a": "\u201cquoted\u201d"}),
    ],
)
def test_full_width_punctuation_between_tokens(source: str, value: dict) -> None:
    assert loads_object(source) == value


def test_importing_actions_stays_light() -> None:
    code = (
        "import sys, qwen_gui_agent.actions\n"
        "heavy = {'torch', 'transformers', 'pyautogui', 'mss', 'playwright', 'adbutils'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "[]"
