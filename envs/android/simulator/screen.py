"""The simulated phone's UI: layout, rendering, and how it reacts to touches and keys.

All coordinates are logical pixels (the orientation the user sees and
``input`` uses). The demo app shows, top to bottom: a status bar, a text field,
four buttons A-D (a tapped button turns dark), a long-press area (turns
orange when held for 500 ms or more), a scrollable list and the navigation bar
(back, home, recents). The last tap is marked with a small magenta dot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL.Image import Image
    from PIL.ImageFont import FreeTypeFont

ADB_KEYBOARD = "com.android.adbkeyboard/.AdbIME"
LATIN_IME = "com.android.inputmethod.latin/.LatinIME"
LAUNCHER = "com.android.launcher3/.uioverride.QuickstepLauncher"
DEMO_ACTIVITY = "com.example.simulator/.MainActivity"

APPS: dict[str, tuple[str, str]] = {
    "com.example.simulator": ("Simulator Demo", DEMO_ACTIVITY),
    "com.android.settings": ("Settings", "com.android.settings/.Settings"),
    "com.android.chrome": ("Chrome", "com.android.chrome/com.google.android.apps.chrome.Main"),
    "com.google.android.apps.maps": ("Maps", "com.google.android.apps.maps/com.google.android.maps.MapsActivity"),
    "com.android.launcher3": ("Launcher", LAUNCHER),
}
"""Installed packages: package -> (label, launcher activity)."""

BUTTONS = ("A", "B", "C", "D")
BUTTON_COLOURS = {"A": (220, 60, 60), "B": (60, 170, 80), "C": (60, 100, 220), "D": (230, 190, 40)}
PRESSED_COLOUR = (40, 40, 40)
TAP_MARK = (255, 0, 255)
LONG_PRESS_COLOUR, HELD_COLOUR = (150, 80, 200), (255, 140, 0)
LIST_ITEMS, ITEM_HEIGHT_FRACTION = 60, 0.04
LONG_PRESS_MS = 500
KEY_CHARS = {**{f"KEYCODE_{c}": c.lower() for c in "ABCDEFGHIJKLMNOPQRSTUVWXYZ"},
              **{f"KEYCODE_{d}": d for d in "0123456789"}, "KEYCODE_SPACE": " ",
              "KEYCODE_PERIOD": ".", "KEYCODE_COMMA": ",", "KEYCODE_TAB": "\t",
              "KEYCODE_ENTER": "\n"}


@dataclass
class Screen:
    """What the simulated phone shows and what happened to it (logical coordinates)."""

    width: int
    height: int
    """Natural (rotation 0) size of the panel."""
    rotation: int = 0
    foreground: str = DEMO_ACTIVITY
    text: str = ""
    """Content of the demo app's text field."""
    pressed: dict[str, int] = field(default_factory=dict)
    """Demo button name -> how many taps it got."""
    held: bool = False
    """Whether the long-press area was long-pressed."""
    scroll_offset: int = 0
    """How far the list is scrolled, in pixels (grows when scrolling down)."""
    taps: list[tuple[int, int]] = field(default_factory=list)
    swipes: list[tuple[int, int, int, int, int]] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    url: str | None = None
    ime: str = LATIN_IME
    override_size: tuple[int, int] | None = None

    @property
    def logical_size(self) -> tuple[int, int]:
        """(width, height) the UI is laid out in, and ``input`` coordinates use."""
        w, h = self.override_size or (self.width, self.height)
        return (h, w) if self.rotation % 2 else (w, h)

Box = tuple[int, int, int, int]


def layout(width: int, height: int) -> dict[str, Box]:
    """Named regions (left, top, right, bottom) for a ``width`` x ``height`` screen."""
    def box(x0: float, y0: float, x1: float, y1: float) -> Box:
        return round(x0 * width), round(y0 * height), round(x1 * width), round(y1 * height)

    regions = {"status": box(0, 0, 1, 0.04), "field": box(0.05, 0.07, 0.95, 0.13)}
    for index, name in enumerate(BUTTONS):
        col, row = index % 2, index // 2
        regions[name] = box(0.05 + col * 0.46, 0.16 + row * 0.155, 0.49 + col * 0.46,
                            0.295 + row * 0.155)
    regions["hold"] = box(0.05, 0.49, 0.95, 0.57)
    regions["list"] = box(0.05, 0.60, 0.95, 0.92)
    regions["nav"] = box(0, 0.94, 1, 1)
    for index, name in enumerate(("nav_back", "nav_home", "nav_recents")):
        regions[name] = box(index / 3, 0.94, (index + 1) / 3, 1)
    return regions


def launcher_icons(width: int, height: int) -> dict[str, Box]:
    """Launcher icon boxes, package -> box, in the order of ``APPS``."""
    packages = [p for p in APPS if p != "com.android.launcher3"]
    size = width // 4
    return {p: (size // 2 + (i % 2) * 2 * size, round(0.1 * height) + (i // 2) * 2 * size,
                size // 2 + (i % 2) * 2 * size + size, round(0.1 * height) + (i // 2) * 2 * size + size)
            for i, p in enumerate(packages)}


def hit(regions: dict[str, Box], x: float, y: float) -> str | None:
    for name, (x0, y0, x1, y1) in regions.items():
        if name not in ("nav", "status") and x0 <= x < x1 and y0 <= y < y1:
            return name
    return None


def _max_scroll(regions: dict[str, Box], height: int) -> int:
    list_box = regions["list"]
    return max(0, round(LIST_ITEMS * ITEM_HEIGHT_FRACTION * height) - (list_box[3] - list_box[1]))


def tap(screen: Screen, x: float, y: float) -> None:
    width, height = screen.logical_size
    screen.taps.append((round(x), round(y)))
    regions = layout(width, height)
    name = hit(regions, x, y)
    if name == "nav_back":
        press_key(screen, "KEYCODE_BACK")
    elif name == "nav_home":
        press_key(screen, "KEYCODE_HOME")
    elif name == "nav_recents":
        press_key(screen, "KEYCODE_APP_SWITCH")
    elif screen.foreground == LAUNCHER:
        for package, (x0, y0, x1, y1) in launcher_icons(width, height).items():
            if x0 <= x < x1 and y0 <= y < y1:
                screen.foreground = APPS[package][1]
    elif screen.foreground == DEMO_ACTIVITY and name in BUTTONS:
        screen.pressed[name] = screen.pressed.get(name, 0) + 1


def swipe(screen: Screen, x1: float, y1: float, x2: float, y2: float, ms: int) -> None:
    """A touch from (x1, y1) to (x2, y2) lasting ``ms``: a tap, a long press or a drag."""
    screen.swipes.append((round(x1), round(y1), round(x2), round(y2), ms))
    width, height = screen.logical_size
    regions = layout(width, height)
    still = abs(x2 - x1) < 10 and abs(y2 - y1) < 10
    if still and ms < LONG_PRESS_MS:
        tap(screen, x1, y1)
    elif still:
        if screen.foreground == DEMO_ACTIVITY and hit(regions, x1, y1) == "hold":
            screen.held = True
    elif screen.foreground == DEMO_ACTIVITY and hit(regions, x1, y1) == "list":
        offset = screen.scroll_offset + round(y1 - y2)
        screen.scroll_offset = min(max(offset, 0), _max_scroll(regions, height))


def press_key(screen: Screen, keycode: str) -> None:
    screen.keys.append(keycode)
    if keycode == "KEYCODE_HOME" or (keycode == "KEYCODE_BACK" and screen.foreground != LAUNCHER):
        screen.foreground = LAUNCHER
    elif keycode == "KEYCODE_DEL" and screen.foreground == DEMO_ACTIVITY:
        screen.text = screen.text[:-1]
    elif keycode in KEY_CHARS and keycode != "KEYCODE_ENTER":
        if screen.foreground == DEMO_ACTIVITY:
            screen.text += KEY_CHARS[keycode]


@lru_cache(maxsize=8)
def _font(size: int) -> FreeTypeFont:
    from PIL import ImageFont

    return ImageFont.load_default(size=size)


def render(screen: Screen) -> Image:
    """The screen as the user sees it, in logical orientation."""
    from PIL import Image as PILImage
    from PIL import ImageDraw

    width, height = screen.logical_size
    regions = layout(width, height)
    font = _font(max(10, round(min(width, height) * 0.04)))
    package = screen.foreground.split("/", 1)[0]
    background = (250, 250, 250) if package in ("com.example.simulator", "com.android.launcher3") \
        else (200, 225, 245)
    image = PILImage.new("RGB", (width, height), background)
    draw = ImageDraw.Draw(image)
    draw.rectangle(regions["status"], fill=(30, 30, 30))
    draw.text((10, 4), "12:00", fill=(255, 255, 255), font=font)
    if screen.foreground == DEMO_ACTIVITY:
        _draw_demo(draw, screen, regions, font, height)
    elif screen.foreground == LAUNCHER:
        for pkg, box in launcher_icons(width, height).items():
            draw.rounded_rectangle(box, radius=20, fill=(90, 140, 200))
            draw.text((box[0], box[3] + 4), APPS[pkg][0], fill=(0, 0, 0), font=font)
    else:
        label = APPS.get(package, (package, ""))[0]
        draw.text((width // 10, height // 3), label, fill=(0, 0, 0), font=font)
        if screen.url:
            draw.text((width // 10, height // 3 + font.size * 2), screen.url, fill=(0, 0, 90), font=font)
    draw.rectangle(regions["nav"], fill=(0, 0, 0))
    for name, glyph in (("nav_back", "<"), ("nav_home", "O"), ("nav_recents", "[]")):
        x0, y0, x1, y1 = regions[name]
        draw.text(((x0 + x1) // 2, (y0 + y1) // 2), glyph, fill=(255, 255, 255), font=font, anchor="mm")
    if screen.taps:
        x, y = screen.taps[-1]
        radius = max(3, min(width, height) // 150)
        draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=TAP_MARK)
    return image


def _draw_demo(draw: object, screen: Screen, regions: dict[str, Box], font: FreeTypeFont,
               height: int) -> None:
    from PIL.ImageDraw import ImageDraw

    assert isinstance(draw, ImageDraw)
    field_box = regions["field"]
    draw.rectangle(field_box, fill=(255, 255, 255), outline=(120, 120, 120), width=3)
    draw.text((field_box[0] + 12, (field_box[1] + field_box[3]) // 2), screen.text or "Type here",
              fill=(0, 0, 0) if screen.text else (160, 160, 160), font=font, anchor="lm")
    for name in BUTTONS:
        colour = PRESSED_COLOUR if screen.pressed.get(name) else BUTTON_COLOURS[name]
        draw.rectangle(regions[name], fill=colour)
        x0, y0, x1, y1 = regions[name]
        draw.text(((x0 + x1) // 2, (y0 + y1) // 2), name, fill=(255, 255, 255), font=font, anchor="mm")
    draw.rectangle(regions["hold"], fill=HELD_COLOUR if screen.held else LONG_PRESS_COLOUR)
    x0, y0, x1, y1 = regions["list"]
    item = round(ITEM_HEIGHT_FRACTION * height)
    first = screen.scroll_offset // item
    for index in range(first, min(LIST_ITEMS, first + (y1 - y0) // item + 2)):
        top = y0 + index * item - screen.scroll_offset
        box = (x0, max(top, y0), x1, min(top + item, y1))
        if box[1] < box[3]:
            draw.rectangle(box, fill=list_item_colour(index))
            if top >= y0 and top + item <= y1:
                draw.text((x0 + 12, top + item // 2), f"Item {index}", fill=(0, 0, 0), font=font,
                          anchor="lm")


def list_item_colour(index: int) -> tuple[int, int, int]:
    """A distinct colour per list item, so a screenshot shows how far the list scrolled."""
    return (100 + (index * 37) % 150, 180, 100 + (index * 53) % 150)
