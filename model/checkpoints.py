"""Where a model's weights are: a local folder, the Hugging Face cache, or the hub.

Asked before anything loads, so that a machine without network learns it in
seconds: transformers would otherwise spend most of a minute retrying the hub
before it says the same. :func:`locate` never touches the network;
:func:`hub_problem` asks the hub once, with a hard time limit (name lookups
ignore socket timeouts, so the question runs on a thread of its own).
"""

from __future__ import annotations

import threading
from pathlib import Path

HUB_TIMEOUT_S = 3.0
DOWNLOAD_HINT = "hf download {model} --local-dir DIR"
"""The command that fetches weights on a machine with network (huggingface_hub's CLI)."""


def looks_local(model: str) -> bool:
    """Whether ``model`` names a folder rather than a hub id (``owner/name``)."""
    return (Path(model).expanduser().exists() or model.startswith(("/", ".", "~"))
            or model.count("/") > 1 or "\\" in model)


def locate(model: str) -> Path | None:
    """The folder holding ``model``'s config and weights, locally or in the HF cache; None if none."""
    path = Path(model).expanduser()
    if looks_local(model):
        return path if _complete(path) else None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    config = try_to_load_from_cache(model, "config.json")
    return Path(config).parent if isinstance(config, str) and _complete(Path(config).parent) else None


def missing_parts(path: Path) -> str | None:
    """What a checkpoint folder lacks (``config.json``, weights), or None when it looks whole."""
    if not (path / "config.json").is_file():
        return "no config.json"
    if not _weights_in(path):
        return "no *.safetensors weights"
    return None


def hub_problem(model: str, timeout: float = HUB_TIMEOUT_S) -> str | None:
    """None when the hub serves ``model`` now; otherwise why not, in a few words."""
    import httpx
    from huggingface_hub import constants

    if constants.HF_HUB_OFFLINE:
        return "the hub is switched off (HF_HUB_OFFLINE is set)"
    answer: list[str | None] = []

    def ask() -> None:
        try:
            response = httpx.head(f"{constants.ENDPOINT}/api/models/{model}", timeout=timeout,
                                  follow_redirects=True)
        except httpx.HTTPError as exc:
            answer.append(f"{constants.ENDPOINT} is unreachable ({type(exc).__name__})")
            return
        answer.append(None if response.status_code < 400 else
                      f"{constants.ENDPOINT} answered HTTP {response.status_code} for {model}")

    asker = threading.Thread(target=ask, daemon=True)
    asker.start()
    asker.join(timeout + 1)
    return answer[0] if answer else f"{constants.ENDPOINT} did not answer within {timeout:g} s"


def _complete(path: Path) -> bool:
    return path.is_dir() and missing_parts(path) is None


def _weights_in(directory: Path) -> bool:
    return any(directory.glob("*.safetensors")) or any(directory.glob("*.bin"))
