"""``python -m qwen_gui_agent.envs.android.simulator``: run a simulated device by hand."""

from qwen_gui_agent.envs.android.simulator.device import main

main()
