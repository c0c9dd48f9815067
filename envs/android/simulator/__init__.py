"""An Android device simulator behind the real adb server: the test bed of the Android env.

``python -m qwen_gui_agent.envs.android.simulator`` runs one by hand (port 6520).
"""

from qwen_gui_agent.envs.android.simulator.device import AdbDeviceSimulator

__all__ = ["AdbDeviceSimulator"]
