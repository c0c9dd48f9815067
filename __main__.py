"""`python -m qwen_gui_agent` is the `qwen-agent` command."""

from qwen_gui_agent.cli import main

raise SystemExit(main())
