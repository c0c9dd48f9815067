"""The desktop backend: one X11 monitor through mss, pyautogui and xdotool; Xvfb for headless runs."""

from qwen_gui_agent.envs.desktop.env import DesktopEnv, ScreenMapping
from qwen_gui_agent.envs.desktop.xvfb import VirtualDisplay

__all__ = ["DesktopEnv", "ScreenMapping", "VirtualDisplay"]
