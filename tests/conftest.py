"""Shared fixtures live in tests/fixtures/, one module per real part they start."""

pytest_plugins = [
    "fixtures.display",
    "fixtures.browser",
    "fixtures.android",
    "fixtures.models",
    "fixtures.recorded_runs",
]
