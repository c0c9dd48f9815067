"""Fixtures for the agent tests: one shared headless browser and page helpers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

VIEWPORT = (800, 600)
"""CSS pixels; with device_scale_factor 1 also the screenshot size."""


@pytest.fixture(scope="module")
def shared_browser(browser_env_module: Callable[..., Any]) -> Any:
    """One real headless Chromium for a test module (tests load their page with ``open_page``)."""
    return browser_env_module(url="static.html", viewport=VIEWPORT)


@pytest.fixture
def open_page(shared_browser: Any, page_server: Any) -> Callable[[str], Any]:
    """``open_page("form.html")`` loads a test page in the shared browser and returns the env."""

    def load(name: str) -> Any:
        shared_browser.page.goto(page_server.url(name))
        shared_browser.page.wait_for_load_state("load")
        return shared_browser

    return load


@pytest.fixture
def center_of() -> Callable[[Any, str], tuple[int, int]]:
    """``center_of(env, css_selector)``: the element's centre in screenshot pixels."""

    def center(env: Any, selector: str) -> tuple[int, int]:
        box = env.page.locator(selector).bounding_box()
        assert box is not None, f"{selector} is not visible"
        scale = env.device_scale_factor
        return (round((box["x"] + box["width"] / 2) * scale),
                round((box["y"] + box["height"] / 2) * scale))

    return center


@pytest.fixture(scope="module")
def form(browser_env_module: Callable[..., Any]) -> dict[str, tuple[int, int]]:
    """Screenshot-pixel centres of form.html's elements in the default 1280x800 viewport,
    measured in a real browser (for the CLI tests, whose browser runs in the child process)."""
    env = browser_env_module("form.html")
    assert env.observe().image.size == (1280, 800)
    boxes = env.page.evaluate("""() => Object.fromEntries(['name', 'email', 'submit'].map(id => {
        const r = document.getElementById(id).getBoundingClientRect();
        return [id, [Math.round(r.x + r.width / 2), Math.round(r.y + r.height / 2)]]; }))""")
    return {name: tuple(point) for name, point in boxes.items()}


def files_containing(root: Path, needle: str) -> list[Path]:
    """Every file under ``root`` whose bytes contain ``needle`` (UTF-8)."""
    data = needle.encode()
    return [p for p in root.rglob("*") if p.is_file() and data in p.read_bytes()]


@pytest.fixture
def grep_tree() -> Callable[[Path, str], list[Path]]:
    return files_containing
