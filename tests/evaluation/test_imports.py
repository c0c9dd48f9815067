"""The evaluation modules import their heavy parts only when a suite needs them."""

from __future__ import annotations

import subprocess
import sys

MODULES = ("core", "score", "predict", "predictions", "tables", "metrics", "screenspot", "androidcontrol",
           "runs", "miniwob")
HEAVY = ("torch", "transformers", "playwright", "tfrecord", "google", "miniwob", "rich", "numpy")


def test_importing_the_evaluation_loads_no_heavy_library() -> None:
    imports = "; ".join(f"import qwen_gui_agent.agent.evaluation.{m}" for m in MODULES)
    code = (f"import sys; {imports}; import qwen_gui_agent.cli.evaluate, qwen_gui_agent.cli.parser\n"
            f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
