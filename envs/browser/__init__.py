"""The browser backend: a real Chromium driven through Playwright's sync API."""

from qwen_gui_agent.envs.browser.env import BrowserEnv, normalize_url
from qwen_gui_agent.envs.browser.launch import CHROMIUM_ENV_VAR, find_chromium

__all__ = ["CHROMIUM_ENV_VAR", "BrowserEnv", "find_chromium", "normalize_url"]
