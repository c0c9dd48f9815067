"""Command-line flags to backend options, refusing flags that do not fit the chosen env."""

from __future__ import annotations

from typing import Any

from qwen_gui_agent.errors import UsageError


def env_options(
    kind: str,
    *,
    url: str | None = None,
    headed: bool = False,
    viewport: tuple[int, int] | None = None,
    serial: str | None = None,
    adb_port: int | None = None,
    display: str | None = None,
) -> dict[str, Any]:
    """The backend options of ``kind`` from the CLI's flags; flags of other envs are an error."""
    given = {"url": url, "headed": headed or None, "viewport": viewport, "serial": serial,
             "adb-port": adb_port, "display": display}
    allowed = {"browser": {"url", "headed", "viewport"}, "android": {"serial", "adb-port"},
               "desktop": {"display"}}[kind]
    stray = sorted(name for name, value in given.items() if value is not None and name not in allowed)
    if stray:
        raise UsageError(
            f"--{', --'.join(stray)} {'does' if len(stray) == 1 else 'do'} not apply to the {kind} env"
        )
    if kind == "browser":
        options: dict[str, Any] = {"headless": not headed}
        if url:
            options["url"] = url
        if viewport:
            options["viewport"] = viewport
        return options
    if kind == "android":
        return {k: v for k, v in (("serial", serial), ("adb_port", adb_port)) if v}
    return {"display": display} if display else {}
