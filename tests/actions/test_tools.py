"""The computer_use / mobile_use schemas and the system prompt, checked against the
text Qwen2.5-VL was trained with (QwenLM/Qwen2.5-VL cookbooks/utils/agent_function_call.py,
rendered by Qwen-Agent's NousFnCallPrompt)."""

from __future__ import annotations

import json

import pytest

from qwen_gui_agent.actions import Frame, system_prompt, tool_name_for, tool_schema
from qwen_gui_agent.actions.tools import TOOLS

COORD = ("(x, y): The x (pixels from the left edge) and y (pixels from the top edge) "
         "coordinates to move the mouse to.")

# Transcribed from the cookbook, in its key order.
COOKBOOK_COMPUTER_USE = {
    "properties": {
        "action": {
            "description": """
The action to perform. The available actions are:
* `key`: Performs key down presses on the arguments passed in order, then performs key releases in reverse order.
* `type`: Type a string of text on the keyboard.
* `mouse_move`: Move the cursor to a specified (x, y) pixel coordinate on the screen.
* `left_click`: Click the left mouse button.
* `left_click_drag`: Click and drag the cursor to a specified (x, y) pixel coordinate on the screen.
* `right_click`: Click the right mouse button.
* `middle_click`: Click the middle mouse button.
* `double_click`: Double-click the left mouse button.
* `scroll`: Performs a scroll of the mouse scroll wheel.
* `wait`: Wait specified seconds for the change to happen.
* `terminate`: Terminate the current task and report its completion status.
""".strip(),
            "enum": ["key", "type", "mouse_move", "left_click", "left_click_drag", "right_click",
                     "middle_click", "double_click", "scroll", "wait", "terminate"],
            "type": "string",
        },
        "keys": {"description": "Required only by `action=key`.", "type": "array"},
        "text": {"description": "Required only by `action=type`.", "type": "string"},
        "coordinate": {
            "description": COORD + " Required only by `action=mouse_move` and "
                                   "`action=left_click_drag`.",
            "type": "array",
        },
        "pixels": {
            "description": "The amount of scrolling to perform. Positive values scroll up, "
                           "negative values scroll down. Required only by `action=scroll`.",
            "type": "number",
        },
        "time": {"description": "The seconds to wait. Required only by `action=wait`.",
                 "type": "number"},
        "status": {"description": "The status of the task. Required only by `action=terminate`.",
                   "type": "string", "enum": ["success", "failure"]},
    },
    "required": ["action"],
    "type": "object",
}

COOKBOOK_MOBILE_USE = {
    "properties": {
        "action": {
            "description": """
The action to perform. The available actions are:
* `key`: Perform a key event on the mobile device.
    - This supports adb's `keyevent` syntax.
    - Examples: "volume_up", "volume_down", "power", "camera", "clear".
* `click`: Click the point on the screen with coordinate (x, y).
* `long_press`: Press the point on the screen with coordinate (x, y) for specified seconds.
* `swipe`: Swipe from the starting point with coordinate (x, y) to the end point with coordinates2 (x2, y2).
* `type`: Input the specified text into the activated input box.
* `system_button`: Press the system button.
* `open`: Open an app on the device.
* `wait`: Wait specified seconds for the change to happen.
* `terminate`: Terminate the current task and report its completion status.
""".strip(),
            "enum": ["key", "click", "long_press", "swipe", "type", "system_button", "open",
                     "wait", "terminate"],
            "type": "string",
        },
        "coordinate": {
            "description": COORD + " Required only by `action=click`, `action=long_press`, "
                                   "and `action=swipe`.",
            "type": "array",
        },
        "coordinate2": {"description": COORD + " Required only by `action=swipe`.",
                        "type": "array"},
        "text": {"description": "Required only by `action=key`, `action=type`, and `action=open`.",
                 "type": "string"},
        "time": {"description": "The seconds to wait. Required only by `action=long_press` and "
                                "`action=wait`.", "type": "number"},
        "button": {
            "description": "Back means returning to the previous interface, Home means returning "
                           "to the desktop, Menu means opening the application background menu, "
                           "and Enter means pressing the enter. Required only by "
                           "`action=system_button`",
            "enum": ["Back", "Home", "Menu", "Enter"],
            "type": "string",
        },
        "status": {"description": "The status of the task. Required only by `action=terminate`.",
                   "type": "string", "enum": ["success", "failure"]},
    },
    "required": ["action"],
    "type": "object",
}


@pytest.mark.parametrize(
    ("tool", "expected"),
    [("computer_use", COOKBOOK_COMPUTER_USE), ("mobile_use", COOKBOOK_MOBILE_USE)],
)
def test_parameters_match_the_cookbook_byte_for_byte(tool: str, expected: dict) -> None:
    params = tool_schema(tool, Frame(1920, 1080))["function"]["parameters"]
    assert params == expected
    assert json.dumps(params, ensure_ascii=False) == json.dumps(expected, ensure_ascii=False)


@pytest.mark.parametrize(
    ("tool", "screen", "resolution"),
    [
        ("mobile_use", (1080, 2400), "1092x2408"),
        ("computer_use", (1920, 1080), "1932x1092"),
        ("computer_use", (1366, 768), "1372x756"),
        ("computer_use", (2560, 1440), "2548x1428"),
    ],
)
def test_description_states_the_model_resolution(tool, screen, resolution) -> None:
    function = tool_schema(tool, Frame(*screen))["function"]
    assert f"* The screen's resolution is {resolution}.\n" in function["description"]
    assert f"{screen[0]}x{screen[1]}" not in function["description"]


def test_function_envelope_matches_qwen_agent() -> None:
    schema = tool_schema("computer_use", Frame(1920, 1080))
    assert list(schema) == ["type", "function"]
    assert schema["type"] == "function"
    function = schema["function"]
    assert list(function) == ["name_for_human", "name", "description", "parameters", "args_format"]
    assert function["name"] == function["name_for_human"] == "computer_use"
    assert function["args_format"] == "Format the arguments as a JSON object."
    assert function["description"].startswith(
        "Use a mouse and keyboard to interact with a computer, and take screenshots.\n"
    )
    assert tool_schema("mobile_use", Frame(1080, 2400))["function"]["description"].startswith(
        "Use a touchscreen to interact with a mobile device, and take screenshots.\n"
    )


def test_system_prompt_layout() -> None:
    frame = Frame(1080, 2400)
    prompt = system_prompt("mobile_use", frame)
    schema_json = json.dumps(tool_schema("mobile_use", frame), ensure_ascii=False)
    assert prompt == (
        "You are a helpful assistant.\n\n# Tools\n\n"
        "You may call one or more functions to assist with the user query.\n\n"
        "You are provided with function signatures within <tools></tools> XML tags:\n"
        f"<tools>\n{schema_json}\n</tools>\n\n"
        "For each function call, return a json object with function name and arguments "
        "within <tool_call></tool_call> XML tags:\n<tool_call>\n"
        '{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>'
    )
    assert "The screen's resolution is 1092x2408." in prompt


def test_extensions_are_advertised_only_on_request() -> None:
    frame = Frame(1920, 1080)
    plain = tool_schema("computer_use", frame)["function"]["parameters"]["properties"]
    assert "answer" not in plain["action"]["enum"]
    assert "url" not in plain
    extended = tool_schema("computer_use", frame, extensions=["answer", "navigate"])
    props = extended["function"]["parameters"]["properties"]
    assert props["action"]["enum"][-2:] == ["navigate", "answer"]
    assert "* `answer`: Terminate the current task and output the answer." in (
        props["action"]["description"])
    assert props["text"]["description"] == "Required only by `action=type` and `action=answer`."
    assert props["url"]["description"].endswith("Required only by `action=navigate`.")
    mobile = tool_schema("mobile_use", frame, extensions=["answer"])
    assert mobile["function"]["parameters"]["properties"]["text"]["description"] == (
        "Required only by `action=key`, `action=type`, `action=open`, and `action=answer`."
    )
    assert "answer" in system_prompt("mobile_use", frame, extensions=["answer"])


def test_bad_tool_or_extension_names_raise() -> None:
    frame = Frame(800, 600)
    with pytest.raises(ValueError, match="unknown tool"):
        tool_schema("browser_use", frame)
    with pytest.raises(ValueError, match="available: navigate, answer"):
        tool_schema("mobile_use", frame, extensions=["hscroll"])


def test_every_tool_action_documents_only_known_params() -> None:
    for tool in TOOLS.values():
        params = {p.name for p in tool.params}
        for action in tool.actions + tool.extensions:
            assert set(action.params) <= params, (tool.name, action.name)


@pytest.mark.parametrize(
    ("kind", "tool"),
    [("desktop", "computer_use"), ("browser", "computer_use"), ("android", "mobile_use")],
)
def test_tool_name_for_env_kind(kind: str, tool: str) -> None:
    assert tool_name_for(kind) == tool


def test_tool_name_for_unknown_kind() -> None:
    with pytest.raises(ValueError, match="android"):
        tool_name_for("ios")
