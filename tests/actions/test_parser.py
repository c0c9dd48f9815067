"""parse_response: lenient where the intent is clear, a typed ParseError otherwise."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwen_gui_agent.actions import (
    Answer,
    Click,
    Drag,
    Frame,
    Key,
    Move,
    Navigate,
    ParseError,
    Response,
    Scroll,
    SystemButton,
    Terminate,
    TypeText,
    Wait,
    parse_response,
)
from qwen_gui_agent.actions.translate import ACTION_NAMES

DESKTOP = Frame(1920, 1080)  # model image 1932x1092
PHONE = Frame(1080, 2400)    # model image 1092x2408


def at(frame: Frame, x: float, y: float) -> dict[str, int]:
    sx, sy = frame.to_screen(x, y)
    return {"x": sx, "y": sy}


CLICK = '{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [966, 546]}}'


def test_clean_output() -> None:
    response = parse_response(f"<tool_call>\n{CLICK}\n</tool_call>", DESKTOP)
    assert isinstance(response, Response)
    assert response.actions == [Click(**at(DESKTOP, 966, 546))]
    assert response.action == response.actions[0]
    assert response.thought is None
    assert response.calls == [json.loads(CLICK)]


def test_prose_around_the_call_is_the_thought() -> None:
    text = (f"I need to open the menu first.\n<tool_call>\n{CLICK}\n</tool_call>\n"
            "Then I will look again.<|im_end|>")
    response = parse_response(text, DESKTOP)
    assert response.actions == [Click(**at(DESKTOP, 966, 546))]
    assert response.thought == "I need to open the menu first.\n\nThen I will look again."


def test_gui_owl_style_action_prefix() -> None:
    text = ('Action: Tap the search bar.\n<tool_call>\n{"name": "mobile_use", "arguments": '
            '{"action": "click", "coordinate": [540, 180]}}\n</tool_call>')
    response = parse_response(text, PHONE, tool_name="mobile_use")
    assert response.actions == [Click(**at(PHONE, 540, 180))]
    assert response.thought == "Action: Tap the search bar."


@pytest.mark.parametrize(
    "text",
    [
        f"<tool_call>\n{CLICK}",                                   # no closing tag
        f"<tool_call>\n{CLICK}\n</tool_ca",                        # garbled closing tag
        f"<tool_call>\n{CLICK}\n</tool_call><|im_end|><|endoftext|>",
        f"<tool_call>\n```json\n{CLICK}\n```\n</tool_call>",       # fenced inside the tags
        f"```json\n{CLICK}\n```",                                  # fenced, no tags
        f"Sure! Here is the call: {CLICK} Hope it helps.",         # bare object in prose
        CLICK + "</tool_call>",                                    # opening tag lost
        f"<tool_call>\n{CLICK[:-2]}\n</tool_call>",                # truncated braces
        "<tool_call>\n{'name': 'computer_use', 'arguments': {'action': 'left_click', "
        "'coordinate': (966, 546),},}\n</tool_call>",              # Python literal style
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": [966, 546],},}\n</tool_call>',               # trailing commas
        '<tool_call>\n{"name": "computer_use", "arguments": "{\\"action\\": \\"left_click\\", '
        '\\"coordinate\\": [966, 546]}"}\n</tool_call>',          # arguments as a JSON string
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": "[966, 546]"}}\n</tool_call>',             # coordinate as a string
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": "(966, 546)"}}\n</tool_call>',
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": ["966", "546"]}}\n</tool_call>',           # numbers as strings
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": [966.0, 546.0]}}\n</tool_call>',           # floats
        '<tool_call>{"action": "left_click", "coordinate": [966, 546]}</tool_call>',
        '{"action": "left_click", "coordinate": [966, 546]}',      # bare arguments object
        '<tool_call>\n{"name": "left_click", "arguments": {"coordinate": [966, 546]}}\n</tool_call>',
        '{"type": "function", "function": {"name": "computer_use", "arguments": '
        '"{\\"action\\": \\"left_click\\", \\"coordinate\\": [966, 546]}"}}',  # OpenAI style
        '<tool_call>\n{"name": "computer_use", "parameters": {"action": "left_click", '
        '"coordinate": [966, 546]}}\n</tool_call>',
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "LEFT_CLICK", '
        '"coordinate": [966, 546]}}\n</tool_call>',
        # Qwen2.5-VL-72B: action as the name, flat `point`, a stray glyph for the closing tag
        '<tool_call>\n{"name": "click", "point": [966, 546]}\n\u2697',
        f"<tool_call>\n{CLICK}\n\U0001f4d0",
        f"<tool_call>\n<tool_call>\n{CLICK}\n</tool_call>",      # doubled opening tag
        f"<tool_call>\n{CLICK}\n</tool_call>\n<tool_call>\n</tool_call>",  # empty block
        # full-width punctuation of Chinese context, and curly quotes
        '<tool_call>\n{"name"\uff1a"computer_use"\uff0c"arguments"\uff1a{"action"\uff1a'
        '"left_click"\uff0c"coordinate"\uff1a[966\uff0c546]}}\n</tool_call>',
        '<tool_call>\n{\u201cname\u201d: \u201ccomputer_use\u201d, \u201carguments\u201d: '
        '{\u201caction\u201d: \u201cleft_click\u201d, \u201ccoordinate\u201d: [966, 546]}}\n</tool_call>',
        '<tool_call>\n{"name": "computer_use", "arguments": {"action": "left_click", '
        '"coordinate": "(966\uff0c546)"}}\n</tool_call>',
    ],
)
def test_lenient_spellings_of_one_click(text: str) -> None:
    response = parse_response(text, DESKTOP, tool_name="computer_use")
    assert response.actions == [Click(**at(DESKTOP, 966, 546))]
    assert response.calls[0]["name"] == "computer_use"


def test_full_width_punctuation_inside_strings_is_text() -> None:
    text = ('<tool_call>{"name"\uff1a"computer_use"\uff0c"arguments"\uff1a{"action"\uff1a"type"'
            '\uff0c"text"\uff1a"\u4f60\u597d\uff0c\u201c\u4e16\u754c\u201d"}}</tool_call>')
    assert parse_response(text, DESKTOP).actions == [TypeText(text="\u4f60\u597d\uff0c\u201c\u4e16\u754c\u201d")]
    curly = ('<tool_call>{\u201cname\u201d: \u201ccomputer_use\u201d, \u201carguments\u201d: '
             '{\u201caction\u201d: \u201ctype\u201d, \u201ctext\u201d: \u201csay "hi"\u201d}}</tool_call>')
    assert parse_response(curly, DESKTOP).actions == [TypeText(text='say "hi"')]


def test_other_objects_beside_the_call_are_ignored() -> None:
    text = f'<tool_call>\n{{"reasoning": "the OK button"}}\n{CLICK}\n</tool_call>'
    assert parse_response(text, DESKTOP).actions == [Click(**at(DESKTOP, 966, 546))]


def test_thought_excludes_fences_and_tags() -> None:
    response = parse_response(f"Clicking OK.\n```json\n{CLICK}\n```\n</tool_call>", DESKTOP)
    assert response.thought == "Clicking OK."


@pytest.mark.parametrize(
    ("text", "thought"),
    [
        (f"<answer><tool_call>{CLICK}</tool_call></answer>", None),
        (f"<action>\n{CLICK}\n</action>", None),
        (f"<think>\nThe OK button.\n</think>\n<tool_call>\n{CLICK}\n</tool_call>", "The OK button."),
        # GUI-Owl / MAI-UI: reasoning and conclusion in tags around the call
        (f"<thinking>\nPlan.\n</thinking>\n<tool_call>\n{CLICK}\n</tool_call>\n"
         "<conclusion>\nClicked OK.\n</conclusion>", "Plan.\n\nClicked OK."),
        (f"Type into the <input> box.\n<tool_call>\n{CLICK}\n</tool_call>", "Type into the <input> box."),
    ],
)
def test_wrapper_tags_are_not_part_of_the_thought(text: str, thought: str | None) -> None:
    response = parse_response(text, DESKTOP)
    assert response.actions == [Click(**at(DESKTOP, 966, 546))]
    assert response.thought == thought


def test_several_calls_in_order() -> None:
    text = (
        "<tool_call>\n"
        '{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [100, 100]}}\n'
        "</tool_call>\n<tool_call>\n"
        '{"name": "computer_use", "arguments": {"action": "type", "text": "hello"}}\n'
        "</tool_call>\n<tool_call>\n"
        '{"name": "computer_use", "arguments": {"action": "key", "keys": ["enter"]}}\n'
        "</tool_call>"
    )
    response = parse_response(text, DESKTOP)
    assert response.actions == [
        Click(**at(DESKTOP, 100, 100)), TypeText(text="hello"), Key(keys=["enter"]),
    ]
    assert [c["arguments"]["action"] for c in response.calls] == ["left_click", "type", "key"]


def test_pointer_carries_across_calls_of_one_response() -> None:
    text = (
        '<tool_call>{"name": "computer_use", "arguments": {"action": "mouse_move", '
        '"coordinate": [100, 200]}}</tool_call>'
        '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click_drag", '
        '"coordinate": [300, 400]}}</tool_call>'
    )
    start, end = DESKTOP.to_screen(100, 200), DESKTOP.to_screen(300, 400)
    assert parse_response(text, DESKTOP).actions == [
        Move(x=start[0], y=start[1]), Drag(x=start[0], y=start[1], to_x=end[0], to_y=end[1]),
    ]


def test_drag_uses_the_pointer_from_history() -> None:
    text = ('<tool_call>{"name": "computer_use", "arguments": {"action": "left_click_drag", '
            '"coordinate": [300, 400]}}</tool_call>')
    drag = parse_response(text, DESKTOP, pointer=(11, 22)).action
    assert (drag.x, drag.y) == (11, 22)
    with pytest.raises(ParseError, match="mouse_move"):
        parse_response(text, DESKTOP)


def test_missing_name_takes_the_offered_tool() -> None:
    text = '{"action": "system_button", "button": "Back"}'
    response = parse_response(text, PHONE, tool_name="mobile_use")
    assert response.actions == [SystemButton(button="back")]
    assert response.calls == [{"name": "mobile_use",
                               "arguments": {"action": "system_button", "button": "Back"}}]
    assert parse_response(text, PHONE).calls[0]["name"] == "mobile_use"  # inferred


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"action": "scroll", "pixels": "-500"}, Scroll(dy=500)),
        ({"action": "wait", "time": "2"}, Wait(seconds=2)),
        ({"action": "terminate", "status": "success"}, Terminate(status="success")),
        ({"action": "answer", "text": "42 km"}, Answer(text="42 km")),
        ({"action": "navigate", "url": "https://example.org"}, Navigate(url="https://example.org")),
        ({"action": "type", "text": "naïve café ✓"}, TypeText(text="naïve café ✓")),
        ({"action": "key", "text": "KEYCODE_VOLUME_UP"}, Key(keys=["volume_up"])),
        # every example key the trained mobile_use description gives
        *(({"action": "key", "text": k}, Key(keys=[k]))
          for k in ("volume_up", "volume_down", "power", "camera", "clear")),
    ],
)
def test_other_actions(args: dict, expected) -> None:
    text = f"<tool_call>\n{json.dumps({'name': 'mobile_use', 'arguments': args})}\n</tool_call>"
    assert parse_response(text, PHONE).actions == [expected]


def test_python_literals_and_json_literals_mixed() -> None:
    text = "<tool_call>{'name': 'computer_use', 'arguments': {'action': 'terminate', " \
           "'status': 'success', 'extra': null, 'flag': true}}</tool_call>"
    assert parse_response(text, DESKTOP).actions == [Terminate(status="success")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   \n", "empty"),
        ("<|im_end|>", "empty"),
        ("I have finished the task.", "No tool call found"),
        ("The button is at (1240, 258).", "No tool call found"),
        ("Use {curly} braces {'a': 1}", "No tool call found"),
        ("<tool_call>\nleft_click(100, 200)\n</tool_call>", "no JSON object with `name`"),
        ("<tool_call>\n</tool_call>", "No tool call found"),
        ('<tool_call>{"thought": "hmm"}</tool_call>', "no JSON object with `name`"),
        ('<tool_call>{"name": "computer_use", "arguments": {"action": "fly"}}</tool_call>',
         "unknown action 'fly'"),
        ('<tool_call>{"name": "browser", "arguments": {"action": "left_click"}}</tool_call>',
         "unknown function 'browser'"),
        ('<tool_call>{"name": "computer_use", "arguments": {"action": "mouse_move"}}</tool_call>',
         "needs `coordinate`"),
        ('<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", '
         '"coordinate": [2000, 50]}}</tool_call>', r"x must be in 0\.\.1931 and y in 0\.\.1091"),
        ('<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", '
         '"coordinate": [10, 20, 30]}}</tool_call>', "two numbers"),
        ('<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", '
         '"coordinate": [1' + "0" * 400 + ', 5]}}</tool_call>', r"\.\.\. of `left_click` is outside"),
        ('<tool_call>{"name": "computer_use", "arguments": {"foo": 1}}</tool_call>', "action"),
        ('<tool_call>{"name": "computer_use", "arguments": "not json"}</tool_call>', "JSON object"),
        ('<tool_call>{"name": "computer_use", "arguments": [1]}</tool_call>', "JSON object"),
    ],
)
def test_strict_cases(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=message) as err:
        parse_response(text, DESKTOP, tool_name="computer_use")
    assert err.value.text == text
    assert isinstance(err.value, ValueError)


def test_no_call_message_shows_the_offered_tool() -> None:
    with pytest.raises(ParseError) as err:
        parse_response("Done!", PHONE, tool_name="mobile_use")
    assert '{"name": "mobile_use", "arguments": {"action": "click"' in str(err.value)
    assert "<tool_call>" in str(err.value)


def test_one_bad_call_fails_the_whole_response() -> None:
    text = (f"<tool_call>{CLICK}</tool_call>"
            '<tool_call>{"name": "computer_use", "arguments": {"action": "fly"}}</tool_call>')
    with pytest.raises(ParseError, match="fly"):
        parse_response(text, DESKTOP)


def test_unknown_tool_name_argument_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="unknown tool"):
        parse_response(CLICK, DESKTOP, tool_name="browser_use")


def _inside(frame: Frame, response: Response) -> bool:
    for action in response.actions:
        points = [action.point] if action.point else []
        if isinstance(action, Drag):
            points.append((action.to_x, action.to_y))
        if not all(0 <= x < frame.screen_width and 0 <= y < frame.screen_height
                   for x, y in points):
            return False
    return bool(response.actions)


def _parse_or_parse_error(text: str, frame: Frame, **kw) -> None:
    try:
        response = parse_response(text, frame, **kw)
    except ParseError as err:
        assert err.text == text
        assert str(err)
    else:
        assert _inside(frame, response)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_arbitrary_text_raises_only_parse_error(text: str) -> None:
    _parse_or_parse_error(text, DESKTOP)


VALID = [
    f"<tool_call>\n{CLICK}\n</tool_call>",
    "Thinking.\n<tool_call>\n{'name': 'mobile_use', 'arguments': {'action': 'swipe', "
    "'coordinate': [10, 2000], 'coordinate2': [10, 100]}}\n</tool_call>",
    '```json\n{"name": "computer_use", "arguments": {"action": "key", "keys": ["ctrl", "c"]}}\n```',
    '<tool_call>{"name": "mobile_use", "arguments": {"action": "type", "text": "a\\"b"}}',
]


@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from(VALID))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(text)))
        kind = draw(st.sampled_from(["delete", "insert", "replace"]))
        if kind == "delete":
            text = text[:pos] + text[pos + draw(st.integers(1, 5)):]
        else:
            junk = draw(st.text(alphabet=st.sampled_from('{}[]()"\',:0123456789.-e ax\\<>/'),
                                min_size=1, max_size=4))
            text = text[:pos] + junk + text[pos + (len(junk) if kind == "replace" else 0):]
    return text


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_calls_raise_only_parse_error(text: str) -> None:
    _parse_or_parse_error(text, PHONE)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.sampled_from([10**400, -(10**30)])
    | st.floats(allow_nan=True)
    | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                max_size=3),
    max_leaves=8,
)
arg_names = st.sampled_from(["coordinate", "coordinate2", "start_coordinate", "text", "keys",
                             "pixels", "time", "status", "button", "url", "app_name"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(["computer_use", "mobile_use", "left_click", "other", ""]),
    action=st.sampled_from(sorted(ACTION_NAMES) + ["fly", ""]) | json_values,
    args=st.dictionaries(arg_names, json_values, max_size=4),
    pointer=st.none() | st.tuples(st.integers(0, 1079), st.integers(0, 1079)),
)
def test_structured_garbage_raises_only_parse_error(name, action, args, pointer) -> None:
    call = {"name": name, "arguments": {"action": action, **args}}
    text = f"<tool_call>\n{json.dumps(call)}\n</tool_call>"
    _parse_or_parse_error(text, DESKTOP, pointer=pointer)


def test_a_dangling_action_label_is_not_part_of_the_thought() -> None:
    call = '<tool_call>{"name": "computer_use", "arguments": {"action": "left_click", "coordinate": [10, 20]}}'
    assert parse_response(f"Thought: the menu is closed.\nAction: {call}", DESKTOP).thought == \
        "Thought: the menu is closed."
    assert parse_response(f"Action: {call}", DESKTOP).thought is None
    assert parse_response(f"The Action: label stays mid-sentence. {call}", DESKTOP).thought == \
        "The Action: label stays mid-sentence."
