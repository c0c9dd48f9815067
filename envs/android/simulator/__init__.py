"""An Android device simulator behind the real adb server: the test bed of the Android env.

``python -m qwen_gui_agent.envs.android.simulator --port 5555`` runs one by hand.
"""

from qwen_gui_agent.envs.android.simulator.device import AdbDeviceSimulator

__all__ = ["AdbDeviceSimulator"]
