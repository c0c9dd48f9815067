"""The device programs the simulator answers (``input``, ``screencap``, ``wm``, ...).

Each handler takes the device (anything shaped like :class:`Device`, in
practice the simulator) and ``argv[1:]`` and returns stdout (``str`` or
``bytes``) or ``(stdout, stderr, exit_code)``. Output formats follow what real
devices print closely enough for adbutils' parsers and AndroidEnv's.
"""

from __future__ import annotations

import io
import struct
from typing import Callable, Protocol, Union

from qwen_gui_agent.envs.android.simulator import screen as ui
from qwen_gui_agent.errors import UsageError


class Device(Protocol):
    """What the device programs read and change: the simulator's state, and nothing else of it."""

    screen: ui.Screen
    sdk: int
    density: int
    adbkeyboard: bool
    settings: dict[str, dict[str, str]]
    files: dict[str, bytes]

    def screencap_png(self) -> bytes: ...

    def type_text(self, text: str) -> None: ...

    def set_rotation(self, rotation: int) -> None: ...

    def adbkeyboard_broadcast(self, action: str, extras: dict[str, str]) -> None: ...


Output = Union[str, bytes, "tuple[bytes, bytes, int]"]
Handler = Callable[[Device, list[str]], Output]
COMMANDS: dict[str, Handler] = {}

_KEYCODE_NUMBERS = {"3": "KEYCODE_HOME", "4": "KEYCODE_BACK", "66": "KEYCODE_ENTER",
                    "67": "KEYCODE_DEL", "82": "KEYCODE_MENU", "187": "KEYCODE_APP_SWITCH"}
_INPUT_SOURCES = {"keyboard", "mouse", "joystick", "touchscreen", "touchpad", "touchnavigation",
                  "stylus", "trackball", "dpad", "gamepad", "rotaryencoder", "gesture"}


def _command(*names: str) -> Callable[[Handler], Handler]:
    def register(handler: Handler) -> Handler:
        for name in names:
            COMMANDS[name] = handler
        return handler
    return register


def _error(message: str, code: int = 1) -> tuple[bytes, bytes, int]:
    return b"", (message.rstrip("\n") + "\n").encode(), code


def decode_input_text(argument: str) -> str:
    """What ``input text ARG`` types: ``%s`` becomes a space (``InputShellCommand.sendText``)."""
    chars, escape, i = list(argument), False, 0
    while i < len(chars):
        if escape:
            escape = False
            if chars[i] == "s":
                chars[i] = " "
                del chars[i - 1]
                i -= 1
        if chars[i] == "%":
            escape = True
        i += 1
    return "".join(chars)


def _keycode(name: str) -> str:
    if name.isdigit():
        return _KEYCODE_NUMBERS.get(name, f"KEYCODE_{name}")
    name = name.upper()
    return name if name.startswith("KEYCODE_") else "KEYCODE_" + name


@_command("input")
def _input(sim: Device, args: list[str]) -> Output:
    if args and args[0] in _INPUT_SOURCES:
        args = args[1:]
    if len(args) >= 2 and args[0] == "-d":
        args = args[2:]
    if not args:
        return _error("Usage: input [<source>] [-d DISPLAY_ID] <command> [<arg>...]")
    command, rest = args[0], args[1:]
    screen = sim.screen
    try:
        if command == "tap" and len(rest) == 2:
            ui.tap(screen, float(rest[0]), float(rest[1]))
        elif command in ("swipe", "draganddrop") and len(rest) in (4, 5):
            x1, y1, x2, y2 = (float(v) for v in rest[:4])
            ui.swipe(screen, x1, y1, x2, y2, int(rest[4]) if len(rest) == 5 else 300)
        elif command == "text" and len(rest) == 1:
            text = decode_input_text(rest[0])
            if any(not (32 <= ord(c) < 127 or c in "\n\t") for c in text):
                return _error("Exception occurred while executing 'text':\n"
                              "java.lang.NullPointerException: Attempt to get length of null array", 255)
            sim.type_text(text)
        elif command == "keyevent" and rest:
            for name in rest:
                if not name.startswith("--"):
                    ui.press_key(screen, _keycode(name))
        elif command == "keycombination" and rest and sim.sdk < 33:
            return _error(f"Error: Unknown command: {command}\n"
                          "Usage: input [<source>] <command> [<arg>...]")
        elif command == "keycombination" and rest:
            screen.keys.append("+".join(_keycode(name) for name in rest))
        else:
            raise UsageError(command)
    except ValueError:
        return _error(f"Error: Invalid arguments for command: {command}\n"
                      "Usage: input [<source>] [-d DISPLAY_ID] <command> [<arg>...]")
    return ""


@_command("screencap")
def _screencap(sim: Device, args: list[str]) -> Output:
    png = "-p" in args
    paths = [a for a in args if not a.startswith("-")]
    if paths:
        sim.files[paths[-1]] = sim.screencap_png()
        return ""
    if png:
        return sim.screencap_png()
    from PIL import Image

    image = Image.open(io.BytesIO(sim.screencap_png())).convert("RGBA")
    return struct.pack("<4I", image.width, image.height, 1, 0) + image.tobytes()


@_command("wm")
def _wm(sim: Device, args: list[str]) -> Output:
    screen = sim.screen
    if args[:1] == ["size"]:
        if len(args) == 2:
            if args[1] == "reset":
                screen.override_size = None
            else:
                w, h = (int(v) for v in args[1].lower().split("x"))
                screen.override_size = (w, h)
            return ""
        out = f"Physical size: {screen.width}x{screen.height}\n"
        if screen.override_size:
            out += "Override size: {}x{}\n".format(*screen.override_size)
        return out
    if args[:1] == ["density"]:
        return f"Physical density: {sim.density}\n"
    return _error("usage: wm [size|density] ...", 255)


def _viewport(sim: Device) -> str:
    w, h = sim.screen.logical_size
    return (f"DisplayViewport{{type=INTERNAL, valid=true, isActive=true, displayId=0, "
            f"uniqueId='local:0', physicalPort=0, orientation={sim.screen.rotation}, "
            f"logicalFrame=Rect(0, 0 - {w}, {h}), physicalFrame=Rect(0, 0 - {w}, {h}), "
            f"deviceWidth={w}, deviceHeight={h}}}")


def _activity_record(activity: str) -> str:
    return f"ActivityRecord{{8f3c2a1 u0 {activity} t42}}"


@_command("dumpsys")
def _dumpsys(sim: Device, args: list[str]) -> Output:
    screen = sim.screen
    service = args[0] if args else ""
    if service == "display":
        w, h = screen.logical_size
        return ("DISPLAY MANAGER (dumpsys display)\n"
                f"  mViewports=[{_viewport(sim)}]\n"
                "Display Devices: size=1\n"
                f"  DisplayDeviceInfo{{\"Built-in Screen\": uniqueId=\"local:0\", "
                f"{screen.width} x {screen.height}, modeId 1, density {sim.density}, "
                f"rotation 0, type INTERNAL}}\n"
                f"    mCurrentOrientation={screen.rotation}\n"
                "Logical Displays: size=1\n"
                f"  mBaseDisplayInfo=DisplayInfo{{\"Built-in Screen\", displayId 0, real {w} x {h}, "
                f"rotation {screen.rotation}, density {sim.density}}}\n")
    if service == "input":
        return ("INPUT MANAGER (dumpsys input)\n"
                f"  Viewports:\n    {_viewport(sim)}\n"
                f"    SurfaceOrientation: {screen.rotation}\n")
    if service == "window":
        return ("WINDOW MANAGER WINDOWS (dumpsys window windows)\n"
                f"  mCurrentFocus=Window{{1a2b3c4 u0 {_expand(screen.foreground)}}}\n"
                f"  mFocusedApp={_activity_record(screen.foreground)}\n")
    if service == "activity":
        if args[1:2] == ["top"]:
            return f"TASK 42:\n  ACTIVITY {screen.foreground} 8f3c2a1 pid=4242\n"
        return ("ACTIVITY MANAGER ACTIVITIES (dumpsys activity activities)\n"
                f"    mResumedActivity: {_activity_record(screen.foreground)}\n"
                f"  ResumedActivity: {_activity_record(screen.foreground)}\n")
    if service == "SurfaceFlinger" and "--display-id" in args:
        return 'Display 4619827259835644672 (HWC display 0): port=0 pnpId=GGL displayName="Sim"\n'
    return _error(f"Can't find service: {service}", 0)


def _expand(activity: str) -> str:
    """``pkg/.Act`` -> ``pkg/pkg.Act``, as windows are listed."""
    package, _, name = activity.partition("/")
    return f"{package}/{package}{name}" if name.startswith(".") else activity


@_command("ime")
def _ime(sim: Device, args: list[str]) -> Output:
    installed = [ui.LATIN_IME] + ([ui.ADB_KEYBOARD] if sim.adbkeyboard else [])
    enabled = sim.settings["secure"]["enabled_input_methods"].split(":")
    if args[:1] == ["list"]:
        ids = installed if "-a" in args else [i for i in installed if i in enabled]
        if "-s" in args:
            return "".join(i + "\n" for i in ids)
        return "".join(f"{i}:\n  mId={i}\n" for i in ids)
    if args[:1] in (["enable"], ["set"]) and len(args) == 2:
        if args[1] not in installed:
            return _error(f"Unknown input method {args[1]} cannot be enabled for user #0", 255)
        if args[1] not in enabled:
            sim.settings["secure"]["enabled_input_methods"] = ":".join(enabled + [args[1]])
        if args[0] == "enable":
            return f"Input method {args[1]}: now enabled for user #0\n"
        if args[1] not in enabled:
            return _error(f"Input method {args[1]} is not enabled", 255)
        sim.screen.ime = args[1]
        sim.settings["secure"]["default_input_method"] = args[1]
        return f"Input method {args[1]} selected for user #0\n"
    if args[:1] == ["reset"]:
        sim.screen.ime = ui.LATIN_IME
        sim.settings["secure"]["default_input_method"] = ui.LATIN_IME
        return "Reset current and enabled IMEs for user #0\n"
    return _error("usage: ime list|enable|set|reset ...", 255)


@_command("settings")
def _settings(sim: Device, args: list[str]) -> Output:
    if len(args) >= 2 and args[1] in sim.settings:
        table = sim.settings[args[1]]
        if args[0] == "get" and len(args) == 3:
            return table.get(args[2], "null") + "\n"
        if args[0] == "put" and len(args) == 4:
            table[args[2]] = args[3]
            if args[1:3] == ["system", "user_rotation"] and args[3].isdigit():
                sim.set_rotation(int(args[3]))
            elif args[1:3] == ["secure", "default_input_method"]:
                sim.screen.ime = args[3]
            return ""
        if args[0] == "list":
            return "".join(f"{k}={v}\n" for k, v in table.items())
    return _error("usage:  settings [--user <USER_ID> | current] get namespace key ...", 255)


def _options(args: list[str]) -> tuple[dict[str, str], dict[str, str], list[str]]:
    """``am``-style arguments: (-x value options, --es extras, positionals)."""
    options, extras, positional, i = {}, {}, [], 0
    while i < len(args):
        arg = args[i]
        if arg == "--es" and i + 2 < len(args):
            extras[args[i + 1]] = args[i + 2]
            i += 3
        elif arg.startswith("-") and i + 1 < len(args):
            options[arg] = args[i + 1]
            i += 2
        else:
            positional.append(arg)
            i += 1
    return options, extras, positional


@_command("am")
def _am(sim: Device, args: list[str]) -> Output:
    sub, (options, extras, positional) = (args[0] if args else ""), _options(args[1:])
    if sub == "broadcast":
        action = options.get("-a", "")
        sim.adbkeyboard_broadcast(action, extras)
        flags = " (has extras)" if extras else ""
        return (f"Broadcasting: Intent {{ act={action} flg=0x400000{flags} }}\n"
                "Broadcast completed: result=0\n")
    if sub in ("start", "start-activity"):
        if "-n" in options:
            package = options["-n"].split("/", 1)[0]
            if package not in ui.APPS:
                return _error(f"Error: Activity class {{{options['-n']}}} does not exist.")
            sim.screen.foreground = options["-n"]
        elif options.get("-a") == "android.intent.action.VIEW" and "-d" in options:
            sim.screen.foreground = ui.APPS["com.android.chrome"][1]
            sim.screen.url = options["-d"]
        else:
            return _error("Error: Activity not started, unable to resolve Intent")
        return f"Starting: Intent {{ cmp={sim.screen.foreground} }}\n"
    if sub == "force-stop" and positional:
        if sim.screen.foreground.split("/")[0] == positional[0]:
            sim.screen.foreground = ui.LAUNCHER
        return ""
    return _error(f"Error: unknown command '{sub}'", 255)


@_command("monkey")
def _monkey(sim: Device, args: list[str]) -> Output:
    options, _extras, _positional = _options(args)
    package = options.get("-p")
    if package not in ui.APPS:
        return _error("** No activities found to run, monkey aborted.", 252)
    sim.screen.foreground = ui.APPS[package][1]
    return "  bash arg: -p\n  bash arg: " + package + "\nEvents injected: 1\n"


def _packages(args: list[str]) -> str:
    wanted = [a for a in args if not a.startswith("-")]
    return "".join(f"package:{p}\n" for p in ui.APPS if not wanted or wanted[0] in p)


@_command("pm")
def _pm(sim: Device, args: list[str]) -> Output:
    if args[:2] == ["list", "packages"]:
        return _packages(args[2:])
    if args[:1] == ["path"] and len(args) == 2 and args[1] in ui.APPS:
        return f"package:/data/app/{args[1]}-1/base.apk\n"
    if args[:1] == ["resolve-activity"]:
        package = next((a for a in reversed(args) if a in ui.APPS), None)
        if package is None:
            return "No activity found\n"
        return ("priority=0 preferredOrder=0 match=0x108000 specificIndex=-1 isDefault=false\n"
                f"{ui.APPS[package][1]}\n")
    return _error(f"Unknown command: {' '.join(args[:1])}", 255)


@_command("cmd")
def _cmd(sim: Device, args: list[str]) -> Output:
    if args[:1] == ["package"]:
        return _pm(sim, args[1:])
    return _error(f"Can't find service: {' '.join(args[:1])}", 255)


@_command("getprop")
def _getprop(sim: Device, args: list[str]) -> Output:
    if args:
        return sim.properties.get(args[0], "") + "\n"
    return "".join(f"[{k}]: [{v}]\n" for k, v in sorted(sim.properties.items()))


@_command("sleep")
def _sleep(sim: Device, args: list[str]) -> Output:
    return ""  # the simulated device is never busy; sleeping would only slow tests


@_command("id")
def _id(sim: Device, args: list[str]) -> Output:
    return "uid=2000(shell) gid=2000(shell) groups=2000(shell) context=u:r:shell:s0\n"
