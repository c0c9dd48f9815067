"""Command-line flags to backend options, refusing flags that do not fit the chosen env."""

from __future__ import annotations

from typing import Any

from qwen_gui_agent.errors import UsageError

_FLAGS_OF = {
    "browser": {"url", "headed", "viewport", "allow-scheme", "allow-domain"},
    "android": {"serial", "adb-port"},
    "desktop": {"display", "app", "installed-apps"},
}


def env_options(
    kind: str,
    *,
    url: str | None = None,
    headed: bool = False,
    viewport: tuple[int, int] | None = None,
    serial: str | None = None,
    adb_port: int | None = None,
    display: str | None = None,
    apps: list[str] | None = None,
    installed_apps: bool = False,
    allow_schemes: list[str] | None = None,
    allow_domains: list[str] | None = None,
) -> dict[str, Any]:
    """The backend options of ``kind`` from the CLI's flags; flags of other envs are an error."""
    given = {"url": url, "headed": headed or None, "viewport": viewport, "serial": serial,
             "adb-port": adb_port, "display": display, "app": apps or None,
             "installed-apps": installed_apps or None, "allow-scheme": allow_schemes or None,
             "allow-domain": allow_domains or None}
    stray = sorted(name for name, value in given.items() if value is not None and name not in _FLAGS_OF[kind])
    if stray:
        raise UsageError(
            f"--{', --'.join(stray)} {'does' if len(stray) == 1 else 'do'} not apply to the {kind} env"
        )
    if kind == "browser":
        _check_browser(url, allow_schemes or [], allow_domains or None)
        options: dict[str, Any] = {"headless": not headed}
        if url:
            options["url"] = url
        if viewport:
            options["viewport"] = viewport
        if allow_schemes:
            options["allow_schemes"] = list(allow_schemes)
        if allow_domains:
            options["allowed_domains"] = list(allow_domains)
        return options
    if kind == "android":
        return {k: v for k, v in (("serial", serial), ("adb_port", adb_port)) if v}
    options = {"display": display} if display else {}
    if apps:
        options["apps"] = _apps(apps)
        _check_apps(options["apps"])
    if installed_apps:
        options["installed_apps"] = True
    return options


def _apps(specs: list[str]) -> dict[str, list[str]]:
    """``--app LABEL=COMMAND`` flags -> ``{label: argv}`` (split like a shell would; the user's text)."""
    from qwen_gui_agent.envs.desktop.apps import parse_app_spec

    apps: dict[str, list[str]] = {}
    for spec in specs:
        label, argv = parse_app_spec(spec)
        if label in apps:
            raise UsageError(f"--app {label!r} is given twice")
        apps[label] = argv
    return apps


def _check_browser(url: str | None, allow_schemes: list[str], allow_domains: list[str] | None) -> None:
    """Refuse a malformed pattern, or a start page the policy refuses, as a usage error now
    (replay's start page comes from the recording, and must pass the policy too)."""
    from qwen_gui_agent.envs.browser.urls import UrlPolicy, normalize_url
    from qwen_gui_agent.errors import ActionError

    policy = UrlPolicy(allow_schemes, allow_domains)
    if url:
        try:
            policy.check(normalize_url(url))
        except ActionError as exc:
            raise UsageError(f"the start page cannot be opened: {exc}; allow it with --allow-domain "
                             "or --allow-scheme") from None


def _check_apps(apps: dict[str, list[str]]) -> None:
    """Refuse an app whose program is not installed now, not when the model asks for it."""
    from qwen_gui_agent.envs.desktop.apps import AppCatalog

    AppCatalog(apps)
