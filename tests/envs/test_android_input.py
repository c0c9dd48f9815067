"""The Android env's pure translations, checked against the simulator's device rules."""

from __future__ import annotations

import io

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from qwen_gui_agent.envs.android.input import (
    DisplayState,
    extract_png,
    input_text_arguments,
    keycode,
    parse_foreground,
    parse_rotation,
    parse_wm_size,
    resolve_app,
    type_commands,
)
from qwen_gui_agent.envs.android.simulator.commands import decode_input_text
from qwen_gui_agent.envs.android.simulator.shell import Shell
from qwen_gui_agent.errors import ActionError

printable_ascii = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), min_size=1)


@given(printable_ascii)
def test_input_text_arguments_type_exactly_the_text(text):
    arguments = input_text_arguments(text)
    assert "".join(decode_input_text(a) for a in arguments) == text
    assert all(" " not in a and a for a in arguments)


@given(printable_ascii)
def test_type_commands_survive_the_device_shell(text):
    """Through sh (quoting, expansion, globbing) and `input text` decoding, text arrives whole."""
    typed: list[str] = []

    def run(argv: list[str], stdin: bytes) -> tuple[bytes, bytes, int]:
        assert argv[:2] == ["input", "text"] and len(argv) == 3
        typed.append(decode_input_text(argv[2]))
        return b"", b"", 0

    out, err, code = Shell(run).run("; ".join(type_commands(text)))
    assert (err, code) == (b"", 0)
    assert "".join(typed) == text


def test_percent_s_is_split_and_spaces_become_percent_s():
    assert input_text_arguments("50%s off") == ["50%", "s%soff"]
    assert input_text_arguments("a b") == ["a%sb"]
    assert input_text_arguments("100% sure") == ["100%%ssure"]
    assert type_commands("x\ty\n") == ["input text x", "input keyevent KEYCODE_TAB",
                                       "input text y", "input keyevent KEYCODE_ENTER"]


def test_keycodes():
    assert keycode("a") == "KEYCODE_A"
    assert keycode("7") == "KEYCODE_7"
    assert keycode("backspace") == "KEYCODE_DEL"
    assert keycode("home") == "KEYCODE_HOME"
    assert keycode("volume_up") == "KEYCODE_VOLUME_UP"
    with pytest.raises(ActionError, match="type"):
        keycode("é")


@pytest.mark.parametrize("rotation", [0, 1, 2, 3])
def test_unrotated_screenshot_points_map_to_the_same_logical_pixel(rotation):
    """Mark one logical pixel, turn the image the way an unrotated screencap would,
    and check the mapping finds the mark again."""
    state = DisplayState(6, 10, rotation)
    lw, lh = state.logical_size
    turn = {0: None, 1: Image.Transpose.ROTATE_270, 2: None, 3: Image.Transpose.ROTATE_90}[rotation]
    for lx in range(lw):
        for ly in range(lh):
            logical = Image.new("L", (lw, lh))
            logical.putpixel((lx, ly), 255)
            shot = logical.transpose(turn) if turn is not None else logical
            sx, sy = next((x, y) for x in range(shot.width) for y in range(shot.height)
                          if shot.getpixel((x, y)) == 255)
            assert state.to_input(sx, sy, shot.width, shot.height) == (lx, ly)


def test_scaled_screenshot_maps_by_scale():
    assert DisplayState(1080, 2400).to_input(270, 600, 540, 1200) == (540, 1200)
    assert DisplayState(1080, 2400, 1).to_input(2399, 0, 2400, 1080) == (2399, 0)


def test_parsers():
    assert parse_wm_size("Physical size: 1080x2400\nOverride size: 720x1600") == (720, 1600)
    assert parse_wm_size("Physical size: 1080x2400") == (1080, 2400)
    assert parse_wm_size("nothing") is None
    assert parse_rotation("  DisplayViewport{... orientation=3, logicalFrame=...}") == 3
    assert parse_rotation("    SurfaceOrientation: 1") == 1
    assert parse_rotation("") == 0
    assert parse_foreground("  mCurrentFocus=Window{4b1 u0 com.a.b/com.a.b.Main}") == "com.a.b/com.a.b.Main"
    assert parse_foreground("  mCurrentFocus=Window{4b1 u0 StatusBar}\n"
                            "  mFocusedApp=ActivityRecord{1c u0 com.x/.Y t3}") == "com.x/.Y"
    assert parse_foreground("mCurrentFocus=null") is None


# Real `dumpsys display` output of a tablet in landscape: two viewports for display 0,
# the inactive one first with a stale orientation.
TABLET_VIEWPORTS = (
    "  mViewports=[DisplayViewport{type=INTERNAL, valid=true, isActive=false, displayId=0, "
    "orientation=0, logicalFrame=Rect(0, 0 - 2560, 1600), physicalFrame=Rect(0, 0 - 2560, 1600)}, "
    "DisplayViewport{type=INTERNAL, valid=true, isActive=true, displayId=0, orientation=3, "
    "logicalFrame=Rect(0, 0 - 1600, 2560), physicalFrame=Rect(0, 0 - 1600, 2560)}]\n"
    "      mCurrentOrientation=0\n"
)


@pytest.mark.parametrize("output, rotation", [
    (TABLET_VIEWPORTS, 3),
    (("  mDefaultViewport=DisplayViewport{valid=true, displayId=0, orientation=1, "
      "logicalFrame=Rect(0, 0 - 1920, 1080), deviceWidth=1080, deviceHeight=1920}\n"), 1),  # Android 8/9
    ("    mCurrentOrientation=2\n", 2),
    (("    Viewport INTERNAL: displayId=0, uniqueId=local:0, port=0, orientation=1, "
      "logicalFrame=[0, 0, 1920, 1080], physicalFrame=[0, 0, 1920, 1080]\n"), 1),  # dumpsys input, 13
    ("      SurfaceOrientation: 3\n", 3),
    ("    mRotation=ROTATION_90\n    orientation=ROTATION_270\n", 3),
])
def test_rotation_formats(output, rotation):
    assert parse_rotation(output) == rotation


@pytest.mark.parametrize("output, activity", [
    # Android 4: no user id, a trailing field
    ("  mCurrentFocus=Window{4330b6c0 com.android.settings/com.android.settings.SubSettings paused=false}",
     "com.android.settings/com.android.settings.SubSettings"),
    # Android 7-9: the activity is nested in an AppWindowToken
    (("  mCurrentFocus=Window{7e2a0e5 u0 StatusBar}\n"
      "  mFocusedApp=AppWindowToken{20ba847 token=Token{bd93786 ActivityRecord{2f89061 u0 "
      "com.android.vending/com.google.android.finsky.activities.MainActivity t19}}}"),
     "com.android.vending/com.google.android.finsky.activities.MainActivity"),
    ("    mFocusedApp=Token{b9a89ee ActivityRecord{b9b0b05 u0 com.ss.android.article.news/.Main t42567}}",
     "com.ss.android.article.news/.Main"),
    # Android 10+: dialogs and popups focus windows that are no activity
    (("  mCurrentFocus=Window{1f2e u0 PopupWindow:8a7b6c5}\n"
      "  mFocusedApp=ActivityRecord{e0d6a9a u0 com.google.android.apps.nexuslauncher/.NexusLauncherActivity t30}"),
     "com.google.android.apps.nexuslauncher/.NexusLauncherActivity"),
    ("  topResumedActivity=ActivityRecord{5e45c49 u0 com.android.settings/.Settings$WifiSettingsActivity t8}",
     "com.android.settings/.Settings$WifiSettingsActivity"),
    ("    mResumedActivity: ActivityRecord{4ee0a93 u0 com.android.launcher3/.Launcher t2}",
     "com.android.launcher3/.Launcher"),
])
def test_foreground_formats(output, activity):
    assert parse_foreground(output) == activity


@pytest.mark.parametrize("parse", [parse_rotation, parse_foreground, parse_wm_size])
@pytest.mark.parametrize("chunk", ["a.", "a/", "a ", "Window{", "DisplayViewport{", "orientation=", "x1"])
def test_parsers_stay_linear_on_long_garbage(parse, chunk):
    """A megabyte of near-matches parses at once; a regex that backtracks quadratically
    would take hours here and trip the suite's per-test timeout."""
    text = "mCurrentFocus=Window{ mFocusedApp=" + chunk * (500_000 // len(chunk)) + "\n"
    try:
        result = parse(text * 2)
    except ValueError as error:  # a parser may refuse garbage, with a clear error
        assert str(error)
    else:
        assert result in (None, 0) or isinstance(result, (str, tuple))


def test_png_is_found_behind_screencap_warnings():
    buffer = io.BytesIO()
    Image.new("RGB", (4, 3), (1, 2, 3)).save(buffer, format="PNG")
    png = buffer.getvalue()
    warning = (b"[Warning] Multiple displays were found, but no display id was specified! Defaulting to "
               b"the first display found, however this default is not guaranteed to be consistent across "
               b"captures. A display id should be specified.\n"
               b"A display id can be specified with the [-d display-id] option.\n"
               b"See \"dumpsys SurfaceFlinger --display-id\" for valid display IDs.\n")
    assert extract_png(png) == png
    assert extract_png(warning + png) == png
    assert extract_png(b"WARNING: linker: libdvm.so has text relocations\n" + png + b"\n") == png
    assert extract_png(png[:-20]) is None
    assert extract_png(warning) is None


def test_resolve_app():
    packages = ["com.android.settings", "com.google.android.apps.maps", "com.android.vending",
                "org.mozilla.firefox", "com.example.notes", "com.other.notes"]
    assert resolve_app("com.example.notes", packages) == "com.example.notes"
    assert resolve_app("Settings", packages) == "com.android.settings"
    assert resolve_app("Play Store", packages) == "com.android.vending"
    assert resolve_app("firefox", packages) == "org.mozilla.firefox"
    assert resolve_app("My Notes", packages, {"my notes": "com.other.notes"}) == "com.other.notes"
    with pytest.raises(ActionError, match="com.example.notes, com.other.notes"):
        resolve_app("Notes", packages)
    with pytest.raises(ActionError, match="pm list packages"):
        resolve_app("Spotify", packages)


def test_resolve_app_matches_strictly():
    packages = ["com.android.settings", "com.google.android.apps.maps", "org.mozilla.firefox",
                "com.example.notes", "com.other.notes", "com.example.simulator"]
    assert resolve_app("FireFox", packages) == "org.mozilla.firefox"
    assert resolve_app("Maps", packages) == "com.google.android.apps.maps"  # the common-apps table
    assert resolve_app("Mail.ru", packages, {"mail.ru": "ru.mail.mailapp"}) == "ru.mail.mailapp"
    assert resolve_app(" com.example.notes\n", packages) == "com.example.notes"  # spaces around are no name
    for name in ("com.example", "COM.ANDROID.SETTINGS", "mozilla", "example notes", "simulator demo",
                 "com.android.settings x", "settings; reboot"):
        with pytest.raises(ActionError, match="no installed|could be any of"):
            resolve_app(name, packages)
    with pytest.raises(ActionError, match="close names: com.example.notes, "):
        resolve_app("com.example.note", packages)
