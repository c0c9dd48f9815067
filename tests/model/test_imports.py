"""Importing the model package stays light: torch and transformers load only on use."""

from __future__ import annotations

import subprocess
import sys


def test_model_package_does_not_import_torch() -> None:
    code = (
        "import sys, qwen_gui_agent.model as m\n"
        "from qwen_gui_agent.model import Decision, HistoryEntry, Policy, OpenAIPolicy\n"
        "from qwen_gui_agent.model import prompted, factory, endpoint, defaults\n"
        "from qwen_gui_agent.model import architectures, chat_templates, tiny\n"
        "heavy = sorted(k for k in sys.modules if k.split('.')[0] in ('torch', 'transformers'))\n"
        "print(heavy)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_unknown_attribute_is_an_attribute_error() -> None:
    import pytest

    import qwen_gui_agent.model as m

    with pytest.raises(AttributeError, match="NoSuchPolicy"):
        m.NoSuchPolicy  # noqa: B018
