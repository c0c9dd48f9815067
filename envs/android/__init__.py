"""The Android backend: a device (phone, emulator or the simulator) through the real adb server."""

from qwen_gui_agent.envs.android.adb_server import private_adb_server, start_adb_server
from qwen_gui_agent.envs.android.env import AndroidEnv

__all__ = ["AndroidEnv", "private_adb_server", "start_adb_server"]
