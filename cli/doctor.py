"""`qwen-agent doctor`: what is installed and reachable, each with the command that fixes it.

Every check is a small function returning :class:`Check`; none of them starts
anything (no Xvfb, no adb server, no browser), so the doctor is safe to run
anywhere and tells the truth about the machine as it is.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Iterable

from qwen_gui_agent.cli.arguments import Formatter, wrap
from qwen_gui_agent.model.defaults import DEFAULT_MODEL, SMALL_MODEL
from qwen_gui_agent.version import __version__

DEFAULT_MODELS = (DEFAULT_MODEL, SMALL_MODEL)
PIP_EXTRA = "pip install 'qwen-gui-agent[{extra}]'"


@dataclass(frozen=True)
class Check:
    """One line of the doctor's report."""

    area: str
    name: str
    ok: bool
    detail: str
    fix: str | None = None
    optional: bool = False
    """A missing optional part (flash-attn, a GPU) is reported but never fails ``--strict``."""

    @property
    def label(self) -> str:
        if self.ok:
            return "OK"
        return "OPTIONAL" if self.optional else "MISSING"


def _version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None


def _package(area: str, dist: str, extra: str, *, optional: bool = False, why: str = "") -> Check:
    version = _version(dist)
    if version is not None:
        return Check(area, dist, True, version)
    fix = f"pip install {dist}" if optional else PIP_EXTRA.format(extra=extra)
    return Check(area, dist, False, f"not installed{why}", fix, optional)


def _binary(area: str, name: str, apt: str, why: str) -> Check:
    path = shutil.which(name)
    if path:
        return Check(area, name, True, path)
    return Check(area, name, False, f"not on PATH ({why})", f"sudo apt-get install {apt}")


# -- desktop -------------------------------------------------------------------------
def check_display() -> Check:
    """Whether $DISPLAY names an X server that answers (through mss, as the env does)."""
    display = os.environ.get("DISPLAY")
    headless_fix = (
        "export DISPLAY=:0 (your X session), or run headless: "
        "qwen-agent run --env desktop --virtual-display 1280x800 ..."
    )
    if not display:
        return Check("desktop", "display", False, "$DISPLAY is not set", headless_fix)
    if importlib.util.find_spec("mss") is None:
        return Check("desktop", "display", False, f"{display}: cannot check without mss",
                     PIP_EXTRA.format(extra="desktop"))
    import mss

    try:
        with mss.MSS() as screen:
            whole = screen.monitors[0]
    except Exception as exc:  # mss raises ScreenShotError and OSError variants
        return Check("desktop", "display", False, f"{display} does not answer: {exc}", headless_fix)
    return Check("desktop", "display", True, f"{display} {whole['width']}x{whole['height']}")


def desktop_checks() -> list[Check]:
    return [
        check_display(),
        _binary("desktop", "Xvfb", "xvfb", "needed for --virtual-display"),
        _binary("desktop", "xdotool", "xdotool", "types non-ASCII text, focuses windows"),
        _binary("desktop", "xclip", "xclip", "clipboard typing"),
        _package("desktop", "mss", "desktop"),
        _package("desktop", "pyautogui", "desktop"),
    ]


# -- browser -------------------------------------------------------------------------
def check_chromium() -> Check:
    """The Chromium the browser env would launch (offline, Playwright cannot fetch its own)."""
    from qwen_gui_agent.envs.browser import CHROMIUM_ENV_VAR, find_chromium
    from qwen_gui_agent.errors import EnvError

    fix = f"sudo apt-get install chromium (or set {CHROMIUM_ENV_VAR}=/path/to/chrome)"
    try:
        path = find_chromium()
    except EnvError as exc:
        return Check("browser", "chromium", False, str(exc), fix)
    if path is None:
        return Check("browser", "chromium", False, "no Chromium or Chrome on PATH", fix)
    try:
        out = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
        detail = (out.stdout.strip() or out.stderr.strip()).splitlines()[0]
    except (OSError, subprocess.TimeoutExpired, IndexError) as exc:
        return Check("browser", "chromium", False, f"{path} does not start: {exc}",
                     "sudo apt-get install --reinstall chromium")
    return Check("browser", "chromium", True, f"{detail} ({path})")


def browser_checks() -> list[Check]:
    return [_package("browser", "playwright", "browser"), check_chromium()]


# -- android -------------------------------------------------------------------------
def _adb_address() -> tuple[str, int]:
    host = os.environ.get("ANDROID_ADB_SERVER_HOST", "127.0.0.1")
    return host, int(os.environ.get("ANDROID_ADB_SERVER_PORT", "5037"))


def _adb_path() -> str | None:
    """adb on PATH, else the binary adbutils ships (which the android env uses)."""
    path = shutil.which("adb")
    if path is None and importlib.util.find_spec("adbutils") is not None:
        import adbutils

        path = adbutils.adb_path()
    return path


def check_adb_binary() -> Check:
    path = _adb_path()
    if path:
        return Check("android", "adb", True, path)
    return Check("android", "adb", False, "no adb binary",
                 "bash scripts/setup.sh (links adbutils' own adb into the venv), or "
                 + PIP_EXTRA.format(extra="android"))


def check_adb_devices() -> list[Check]:
    """The adb server and its devices; the server is queried, never started."""
    host, port = _adb_address()
    try:
        socket.create_connection((host, port), timeout=1).close()
    except OSError:
        adb = _adb_path() or "adb"
        port_flag = "" if port == 5037 else f" -P {port}"
        return [Check("android", "adb server", False, f"nothing listens on {host}:{port}",
                      f"{adb}{port_flag} start-server")]
    server = Check("android", "adb server", True, f"{host}:{port}")
    if importlib.util.find_spec("adbutils") is None:
        return [server]
    import adbutils

    try:
        entries = adbutils.AdbClient(host=host, port=port, socket_timeout=5).list()
    except Exception as exc:  # adbutils raises AdbError / AdbTimeout / OSError
        return [server, Check("android", "devices", False, f"listing failed: {exc}", "adb kill-server")]
    ready = [e.serial for e in entries if e.state == "device"]
    others = [f"{e.serial} ({e.state})" for e in entries if e.state != "device"]
    if ready:
        return [server, Check("android", "devices", True, ", ".join(ready + others))]
    detail = "none ready" + (f": {', '.join(others)}" if others else "")
    fix = "enable USB debugging and plug the phone in, or: adb connect HOST:PORT"
    return [server, Check("android", "devices", False, detail, fix)]


def android_checks() -> list[Check]:
    return [_package("android", "adbutils", "android"), check_adb_binary(), *check_adb_devices()]


# -- model ---------------------------------------------------------------------------
def check_gpu() -> Check:
    """CUDA through torch (what the local model would use), not just nvidia-smi."""
    if importlib.util.find_spec("torch") is None:
        return Check("model", "cuda", False, "torch is not installed", PIP_EXTRA.format(extra="model"))
    import torch

    if not torch.cuda.is_available():
        smi = " (nvidia-smi found: torch is a CPU build)" if shutil.which("nvidia-smi") else ""
        return Check("model", "cuda", False, f"no CUDA device; the local model runs on CPU{smi}",
                     "on an NVIDIA machine: pip install torch (a CUDA build)", optional=True)
    names = []
    for index in range(torch.cuda.device_count()):
        props = torch.cuda.get_device_properties(index)
        names.append(f"{props.name} {props.total_memory / 2**30:.0f} GiB")
    return Check("model", "cuda", True, f"CUDA {torch.version.cuda}: {'; '.join(names)}")


def check_model_files(model: str, optional: bool = False) -> Check:
    """A local directory with config and weights, or a hub id already in the HF cache.

    The default models are ``optional``: a user may serve them elsewhere.
    """
    from qwen_gui_agent.model.checkpoints import DOWNLOAD_HINT, locate, looks_local, missing_parts

    found = locate(model)
    if found is not None:
        return Check("model", "model files", True, str(found) if looks_local(model) else f"{model} ({found})")
    if looks_local(model):
        path = Path(model).expanduser()
        why = "no such folder" if not path.is_dir() else missing_parts(path)
        return Check("model", "model files", False, f"{path}: {why}",
                     "pass a folder holding a checkpoint: --model DIR")
    return Check("model", "model files", False, f"{model} is not in the Hugging Face cache",
                 f"{DOWNLOAD_HINT.format(model=model)}, then --model DIR", optional=optional)


def check_model_family(model: str) -> Check | None:
    """The family a local checkpoint resolves to, as ``run --model`` would detect it; None
    when there is no checkpoint to read (the model-files check says why).

    Why it is shown: nothing in a model's point says which coordinate frame it is
    in, so a checkpoint run as the wrong family clicks somewhere plausible and
    wrong; UI-TARS-1.5 in particular is a ``qwen2_5_vl`` checkpoint told apart
    only by its name.
    """
    from qwen_gui_agent.actions.dialects import FamilyError, detect_family
    from qwen_gui_agent.model.architectures import ARCHITECTURES
    from qwen_gui_agent.model.checkpoints import locate

    folder = locate(model)
    if folder is None:
        return None
    fix = f"use a checkpoint of a supported model type ({', '.join(ARCHITECTURES)})"
    path = folder / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as exc:
        return Check("model", "family", False, f"{path} is not JSON ({exc})", fix)
    try:
        family = detect_family(config if isinstance(config, dict) else {}, model)
    except FamilyError as exc:
        return Check("model", "family", False, str(exc), fix)
    model_type = config["model_type"]
    how = {
        "ui-tars": f"a {model_type} checkpoint named UI-TARS",
        "qwen2.5-vl": f"model_type {model_type}; a renamed UI-TARS-1.5 needs --family ui-tars",
    }.get(family, f"model_type {model_type}")
    return Check("model", "family", True, f"{family} ({how})")


def check_image_path() -> Check:
    """Which image processor the local model uses (torchvision is optional)."""
    if importlib.util.find_spec("torchvision") is not None:
        return Check("model", "image path", True, "torchvision image processor")
    return Check("model", "image path", True,
                 "PIL image processor (torchvision is not installed; it is optional)")


def check_endpoint(url: str) -> Check:
    """Ask an OpenAI-compatible server what it serves."""
    from qwen_gui_agent.errors import EndpointError
    from qwen_gui_agent.model.endpoint import served_models

    try:
        served = served_models(url, api_key=os.environ.get("OPENAI_API_KEY"))
    except EndpointError as exc:
        return Check("model", "endpoint", False, f"{url}: {exc}",
                     "start a server, e.g. vllm serve Qwen/Qwen2.5-VL-7B-Instruct")
    return Check("model", "endpoint", True, f"{url} serves {', '.join(served) or 'no models'}")


def model_checks(model: str | None = None, endpoint: str | None = None) -> list[Check]:
    checks = [
        _package("model", "torch", "model"),
        _package("model", "transformers", "model"),
        _package("model", "tokenizers", "model"),
        _package("model", "flash-attn", "model", optional=True,
                 why=" (optional: faster attention on CUDA; SDPA is used otherwise)"),
        check_gpu(),
        check_image_path(),
    ]
    if endpoint:
        checks.append(check_endpoint(endpoint))
    if model and not endpoint:
        checks.append(check_model_files(model))
        family = check_model_family(model)
        checks.extend([family] if family else [])
    elif not endpoint:
        checks.extend(check_model_files(m, optional=True) for m in DEFAULT_MODELS)
    return checks


AREAS: dict[str, Callable[..., list[Check]]] = {
    "desktop": desktop_checks,
    "browser": browser_checks,
    "android": android_checks,
}


def run_checks(envs: Iterable[str] = AREAS, model: str | None = None,
               endpoint: str | None = None) -> list[Check]:
    """All checks for the given envs, then the model's."""
    checks = [Check("core", "python", sys.version_info >= (3, 10), platform.python_version(),
                    "use Python 3.10 or newer")]
    for env in envs:
        checks.extend(AREAS[env]())
    checks.extend(model_checks(model, endpoint))
    return checks


def format_report(checks: list[Check]) -> str:
    """Human-readable lines grouped by area: label, name, detail, and the fix."""
    lines = [f"qwen-gui-agent {__version__} doctor ({platform.system().lower()}, "
             f"python {platform.python_version()})"]
    area = None
    for check in checks:
        if check.area != area:
            area = check.area
            lines.append(area)
        line = f"  {check.label:<9}{check.name:<14}{check.detail}"
        if not check.ok and check.fix:
            line += f"\n  {'':<9}{'':<14}fix: {check.fix}"
        lines.append(line)
    missing = [c for c in checks if c.label == "MISSING"]
    lines.append(f"{len(missing)} missing" + (f": {', '.join(c.name for c in missing)}" if missing else ""))
    return "\n".join(lines)


def as_json(checks: list[Check]) -> list[dict[str, object]]:
    return [{**asdict(c), "status": c.label} for c in checks]


def register(sub: argparse._SubParsersAction) -> None:
    parser = sub.add_parser(
        "doctor", help="check what is installed and reachable", formatter_class=Formatter,
        description=wrap("Check the display, Xvfb, xdotool, Chromium, adb and its devices, the "
                         "GPU, torch/transformers, the model files and the model family they "
                         "resolve to. Each line says OK, MISSING "
                         "(with the command that fixes it) or OPTIONAL (missing, but not needed)."),
        epilog="examples:\n  qwen-agent doctor\n  qwen-agent doctor --env browser --strict\n"
               "  qwen-agent doctor --model /models/Qwen2.5-VL-7B-Instruct\n\n"
               "exit status: 0, or with --strict 1 when something is MISSING",
    )
    parser.add_argument("--env", choices=tuple(AREAS), action="append",
                        help="check only what this env needs (repeatable; default: all)")
    parser.add_argument("--model", metavar="ID_OR_PATH",
                        help="check this model's files and the family it resolves to")
    parser.add_argument("--endpoint", metavar="URL", help="check this OpenAI-compatible server")
    parser.add_argument("--strict", action="store_true", help="exit 1 when anything is MISSING")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")
    parser.set_defaults(handler=command)


def command(args: argparse.Namespace) -> int:
    envs = dict.fromkeys(args.env) if args.env else AREAS
    checks = run_checks(envs, model=args.model, endpoint=args.endpoint)
    print(json.dumps(as_json(checks), indent=1) if args.json else format_report(checks))
    missing = any(check.label == "MISSING" for check in checks)
    return 1 if args.strict and missing else 0
