"""UI-TARS text: every spelling real outputs use, actionable errors, and fuzzing."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from qwen_gui_agent.actions import (
    Action,
    Answer,
    Click,
    Drag,
    Key,
    LongPress,
    Move,
    OpenApp,
    ParseError,
    Scroll,
    SystemButton,
    Terminate,
    TypeText,
    Wait,
)
from qwen_gui_agent.actions.dialects import FAMILIES, get_dialect
from qwen_gui_agent.errors import UsageError

TARS = get_dialect("ui-tars")
SQUARE = TARS.frame(1960, 1960)  # resized to itself (1960 = 70 x 28): model point == pixel


def parse(text: str, env: str = "desktop") -> list[Action]:
    return TARS.parse(text, SQUARE, env).actions


@pytest.mark.parametrize(
    "box",
    [
        "'(100,200)'", "'( 100 , 200 )'", "'<|box_start|>(100,200)<|box_end|>'",
        "'<point>100 200</point>'", "'<bbox>90 190 110 210</bbox>'", "'[90, 190, 110, 210]'",
        "'(90,190,110,210)'", "'<|box_start|>(90,190)<|box_end|>(110,210)<|box_end|>'",
        "'(90,190)(110,210)'", "[100,200]", "(100, 200)", '"(100,200)"', "'(100.4,199.6)'",
        "'(100，200)'",
    ],
)
def test_point_spellings(box: str) -> None:
    assert parse(f"Action: click(start_box={box})") == [Click(x=100, y=200)]


@pytest.mark.parametrize(
    ("call", "actions"),
    [
        ("click(point='<point>1 2</point>')", [Click(x=1, y=2)]),
        ("left_single(start_box='(1,2)')", [Click(x=1, y=2)]),
        ("left_double(start_box='(1,2)')", [Click(x=1, y=2, count=2)]),
        ("right_single(start_box='(1,2)')", [Click(x=1, y=2, button="right")]),
        ("hover(start_box='(1,2)')", [Move(x=1, y=2)]),
        ("drag(start_point='<point>1 2</point>', end_point='<point>3 4</point>')",
         [Drag(x=1, y=2, to_x=3, to_y=4)]),
        ("drag(start_box='(1,2)', end_box='(3,4)')", [Drag(x=1, y=2, to_x=3, to_y=4)]),
        ("select(start_box='(1,2)')", [Click(x=1, y=2)]),
        ("select(start_box='(1,2)', end_box='(3,4)')", [Drag(x=1, y=2, to_x=3, to_y=4)]),
        ("long_press(start_box='(1,2)')", [LongPress(x=1, y=2)]),
        ("long_press(start_box='(1,2)', time='')", [LongPress(x=1, y=2)]),
        ("long_press(point='<point>1 2</point>', time='3')", [LongPress(x=1, y=2, duration=3)]),
        ("scroll(direction='down')", [Scroll(dy=500)]),
        ("scroll(start_box='(1,2)', direction='up')", [Scroll(dy=-500, x=1, y=2)]),
        ("scroll(point='<point>1 2</point>', direction='Left')", [Scroll(dx=-500, x=1, y=2)]),
        ("scroll(direction='right')", [Scroll(dx=500)]),
        ("scroll(start_box='(1,2)', end_box='(1,900)')", [Drag(x=1, y=2, to_x=1, to_y=900)]),
        ("type(content='hello')", [TypeText(text="hello")]),
        ("type(text='Hello', start_box='(3,4)')", [Click(x=3, y=4), TypeText(text="Hello")]),
        ("type(content='', start_box='(3,4)')", None),
        ("hotkey(key='ctrl c')", [Key(keys=["ctrl", "c"])]),
        ("hotkey(key='ctrl+a')", [Key(keys=["ctrl", "a"])]),
        ("hotkey(key='Ctrl Shift  T')", [Key(keys=["ctrl", "shift", "t"])]),
        ("hotkey(key='arrowleft')", [Key(keys=["left"])]),
        ("hotkey(key='space')", [Key(keys=["space"])]),
        ("press(key='enter')", [Key(keys=["enter"])]),
        ("wait()", [Wait(seconds=5)]),
        ("finished()", [Terminate(status="success")]),
        ("finished(content='')", [Terminate(status="success")]),
        ("finished(content='The answer is 42.')", [Answer(text="The answer is 42.")]),
        ("call_user()", [Terminate(status="failure")]),
        ("open_app(app_name='Clock')", [OpenApp(name="Clock")]),
        ("press_home()", [SystemButton(button="home")]),
        ("press_back()", [SystemButton(button="back")]),
        ("click(start_box='(1,2)',)", [Click(x=1, y=2)]),
        ("click( start_box = '(1,2)' )", [Click(x=1, y=2)]),
    ],
)
def test_calls(call: str, actions: list[Action] | None) -> None:
    if actions is None:
        with pytest.raises(ParseError, match="needs content"):
            parse("Action: " + call)
    else:
        assert parse("Action: " + call, "android") == actions


@pytest.mark.parametrize(
    ("content", "text"),
    [
        (r"it\'s", "it's"), (r"say \"hi\"", 'say "hi"'), (r"a\nb", "a\nb"), ("a\nb", "a\nb"),
        (r"tab\tend", "tab\tend"), (r"C:\\Users", "C:\\Users"), (r"C:\Users\d", r"C:\Users\d"),
        ("It's done", "It's done"), ("print('hi')", "print('hi')"), ("a) b", "a) b"),
        ("Action: wait()", "Action: wait()"), ("()()", "()()"), ("x, y='z", "x, y='z"),
        (r"ends with \\", "ends with \\"),
    ],
)
def test_content_escapes_and_stray_quotes(content: str, text: str) -> None:
    assert parse(f"Action: type(content='{content}')") == [TypeText(text=text)]


def test_double_quoted_content() -> None:
    assert parse('Action: type(content="It\'s \\"x\\"")') == [TypeText(text="It's \"x\"")]


@pytest.mark.parametrize(
    ("text", "thought"),
    [
        ("Thought: go\nAction: wait()", "go"),
        ("Thought：全角\nAction：wait()", "全角"),
        ("plain reasoning\nAction: wait()", "plain reasoning"),
        ("<think>\nhidden\n</think>\nThought: shown\nAction: wait()", "hidden\n\nshown"),
        ("Reflection: it failed\nAction_Summary: retry\nAction: wait()",
         "Reflection: it failed\nAction_Summary: retry"),
        ("Thought: I should avoid writing \"Action: wait()\" here.\nAction: call_user()",
         "I should avoid writing \"Action: wait()\" here."),
        ("Action: wait()", None),
        ("wait()", None),
        ("```\nThought: fenced\nAction: wait()\n```", "fenced"),
        ("Thought: t\nAction: wait()<|im_end|>", "t"),
        ("Thought: t\nAction: wait()[EOS]", "t"),
    ],
)
def test_thoughts_and_framing(text: str, thought: str | None) -> None:
    response = TARS.parse(text, SQUARE, "desktop")
    assert response.thought == thought
    assert len(response.actions) == 1


def test_several_calls_and_comments() -> None:
    text = ("Thought: fill the form\nAction: click(start_box='(1,2)')\n\n"
            "type(content='abc\\n')\nwait() #Sleep for 5s and take a screenshot\n"
            "hotkey(key='ctrl s')  # save")
    response = TARS.parse(text, SQUARE, "desktop")
    assert response.actions == [Click(x=1, y=2), TypeText(text="abc\n"), Wait(seconds=5),
                                Key(keys=["ctrl", "s"])]
    assert response.calls == [
        {"name": "click", "arguments": {"start_box": "(1,2)"}},
        {"name": "type", "arguments": {"content": "abc\n"}},
        {"name": "wait", "arguments": {}},
        {"name": "hotkey", "arguments": {"key": "ctrl s"}},
    ]


def test_calls_keep_the_models_own_spelling_and_points() -> None:
    frame = TARS.frame(1920, 1080)
    response = TARS.parse("Action: click(point='<point>966 546</point>')", frame, "desktop")
    assert response.calls == [{"name": "click", "arguments": {"point": "<point>966 546</point>"}}]
    assert response.actions == [Click(x=960, y=540)]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "No action found"),
        ("   \n", "No action found"),
        ("I should wait() until the page is stable.", "No action found"),
        ("Thought: nothing\nAction: ", "holds no call"),
        ("Action: click on the button", "holds no call"),
        ("Action: fly(start_box='(1,2)')", "Unknown action `fly`; use one of: click,"),
        ("Action: keydown(key='shift')", "hotkey(key='ctrl c')"),
        ("Action: click(start_box='(1,2)', button='right')", "`click` takes start_box; not button"),
        ("Action: wait(time='2')", "`wait` takes no arguments; not time"),
        ("Action: hotkey('ctrl a')", "name='value'"),
        ("Action: click(start_box)", "name='value'"),
        ("Action: click(start_box='(1,2)', start_box='(3,4)')", "twice"),
        ("Action: click(start_box='(1,2)'", "not closed with `)`"),
        ("Action: type(content='abc", "never closed"),
        ("Action: click(start_box=[1,2", "A bracket in `click(` is never closed"),
        ("Action: click(start_box=[1,2)", "not closed with `)`"),
        ("Action: click(start_box='(1,2)' x", "never closed"),
        ("Action: click(start_box=[1,2] x)", "Expected `,` or `)` after `start_box=...`"),
        ("Action: click(start_box='(1,2)') then wait()", "Unexpected text after the action"),
        ("Action: click(start_box='(1,2)')\nThought: next\nAction: wait()", "2 `Action:` lines"),
        ("Action: click()", "`click` needs start_box"),
        ("Action: click(start_box='')", "`click` needs start_box"),
        ("Action: click(start_box='(1)')", "must be a point such as '(x1,y1)'"),
        ("Action: click(start_box='(a,b)')", "must be a point"),
        ("Action: click(start_box='(1960,5)')", "outside the screen: x must be in 0..1959"),
        ("Action: click(start_box='(-1,5)')", "outside the screen"),
        ("Action: scroll(direction='diagonal')", "direction='down', 'up', 'left' or 'right'"),
        ("Action: scroll(start_box='(1,2)')", "`scroll` needs direction"),
        ("Action: hotkey(key='')", "`hotkey` needs key"),
        ("Action: hotkey(key='ctrl hyperkey')", "invalid `hotkey` call: unknown key"),
        ("Action: hotkey(key='a b c d e f g')", "invalid `hotkey` call"),
        ("Action: open_app(app_name='  ')", "invalid `open_app` call"),
        ("Action: long_press(start_box='(1,2)', time='long')", "`time` must be a number"),
    ],
)
def test_errors_say_what_to_do(text: str, message: str) -> None:
    with pytest.raises(ParseError, match=re.escape(message)) as caught:
        TARS.parse(text, SQUARE, "desktop")
    assert caught.value.text == text
    assert len(str(caught.value)) < 700  # it goes back into the prompt


def test_non_text_is_a_programming_error() -> None:
    with pytest.raises(UsageError):
        TARS.parse(b"Action: wait()", SQUARE, "desktop")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        "Action: type(content='" + "'" * 100_000,
        "Action: type(content='" + "' " * 50_000 + ")",
        "Action: type(content='" + "', a" * 30_000,
        "Action: click(" + "(" * 100_000,
        "Action: click(start_box=" + "[" * 100_000,
        "Action: a(" + "b=c, " * 30_000,
        "\nAction: wait(" * 30_000,
        "\\" * 100_000,
        "Thought: " + " " * 100_000 + "x",
        "Action: type(content='" + "\\" * 100_001,
        "```" + "-" * 100_000,
        "<|" + "a" * 100_000,
    ],
    ids=lambda t: repr(t[:30]),
)
def test_degenerate_output_is_linear(text: str) -> None:
    # Quadratic work on these would take minutes and trip the test timeout.
    try:
        TARS.parse(text, SQUARE, "desktop")
    except ParseError:
        pass


TOKENS = st.sampled_from([
    "Action:", "Action：", "Thought:", "Reflection:", "\n", "\n\n", " ", "click(", "type(",
    "hotkey(", "scroll(", "drag(", "wait()", "finished(", "start_box=", "end_box=", "point=",
    "content=", "key=", "direction=", "'", '"', "(", ")", "[", "]", ",", "=", "\\", "\\'",
    "<point>", "</point>", "<bbox>", "<|box_start|>", "<|box_end|>", "1", "20", "999", "-3",
    "1e9", "nan", "ctrl c", "down", "#", "```", "<think>", "é", "你", "\x00", "{", "}",
    "<tool_call>", '"action":',
])
FRAMES = {family: get_dialect(family).frame(1080, 2400) for family in FAMILIES}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(max_size=300), st.lists(TOKENS, max_size=40).map("".join)),
       family=st.sampled_from(FAMILIES), env=st.sampled_from(["desktop", "android"]))
def test_fuzz_raises_nothing_but_parse_error(text: str, family: str, env: str) -> None:
    dialect = get_dialect(family)
    try:
        response = dialect.parse(text, FRAMES[family], env)
    except ParseError as exc:
        assert exc.text == text and str(exc)
    else:
        assert response.actions


@settings(max_examples=300, deadline=None)
@given(
    x=st.integers(0, 1079), y=st.integers(0, 2399),
    content=st.text(max_size=40).filter(lambda s: s != ""),
    family=st.sampled_from(FAMILIES),
)
def test_fuzz_rendered_turns_parse_back(x: int, y: int, content: str, family: str) -> None:
    dialect, frame = get_dialect(family), FRAMES[family]
    actions: list[Action] = [Click(x=x, y=y), TypeText(text=content), Answer(text=content)]
    once = dialect.parse(dialect.render(actions, frame, "android"), frame, "android").actions
    assert once[1:] == actions[1:]
    assert dialect.parse(dialect.render(once, frame, "android"), frame, "android").actions == once
