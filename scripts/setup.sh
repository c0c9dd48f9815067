#!/usr/bin/env bash
# Installs what qwen-gui-agent, its demo and its tests need on a Debian/Ubuntu
# machine: Debian packages, a virtual environment, torch, the package with every
# extra, and `adb`. Idempotent: a second run changes nothing and takes seconds.
#
#   bash scripts/setup.sh                           into .venv here (created when missing),
#                                                   or into the virtualenv already active
#   PYTHON=/path/to/python bash scripts/setup.sh    into that interpreter's environment
#   QWEN_AGENT_TORCH_INDEX=URL                      a mirror of PyTorch's CPU wheel index
#
# Afterwards `source .venv/bin/activate` puts python, qwen-agent and adb on PATH.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

TORCH_VERSION=2.13.0
TORCH_CPU_INDEX=${QWEN_AGENT_TORCH_INDEX:-https://download.pytorch.org/whl/cpu}   # PyTorch's CPU-only wheels
APT_PACKAGES=(xvfb xdotool xclip x11-utils python3-tk)
export PIP_ROOT_USER_ACTION=ignore PIP_DISABLE_PIP_VERSION_CHECK=1

say() { echo "setup: $*"; }
as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null 2>&1; then
    sudo "$@"
  else
    say "installing Debian packages needs root: run this as root, or install sudo"
    exit 1
  fi
}

# -- Debian packages ------------------------------------------------------------------
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
system_browser() {
  local name
  for name in chromium google-chrome google-chrome-stable; do
    command -v "$name" >/dev/null 2>&1 && return 0
  done
  return 1
}

missing=()
for pkg in "${APT_PACKAGES[@]}"; do installed "$pkg" || missing+=("$pkg"); done
if [ -z "${PYTHON:-}" ] && [ -z "${VIRTUAL_ENV:-}" ] && [ ! -x "$PY" ]; then
  # Debian and Ubuntu ship venv's pip bootstrap (ensurepip) in a separate package.
  command -v python3 >/dev/null 2>&1 || missing+=(python3)
  python3 -c "import ensurepip, venv" 2>/dev/null || missing+=(python3-venv)
fi
want_browser=false
system_browser || want_browser=true
if [ "${#missing[@]}" -gt 0 ] || $want_browser; then
  say "updating the package lists"
  as_root apt-get update -qq
  if $want_browser; then
    # Ubuntu's `chromium` is a stub that installs a snap, which needs snapd and whose
    # sandbox gets in Playwright's way: there Playwright's own Chromium is used below.
    candidate=$(apt-cache policy chromium 2>/dev/null | awk '/Candidate:/ {print $2}')
    case $candidate in
      ""|"(none)"|*snap*) say "no Debian chromium package here (candidate: ${candidate:-none}); Playwright's Chromium will be used" ;;
      *) missing+=(chromium); want_browser=false ;;
    esac
  fi
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]}"
    as_root env DEBIAN_FRONTEND=noninteractive \
      apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
fi

# -- the Python environment -----------------------------------------------------------
if [ ! -x "$PY" ] && [ -z "${PYTHON:-}" ] && [ -z "${VIRTUAL_ENV:-}" ]; then
  say "creating the virtual environment .venv"
  python3 -m venv .venv
fi
"$PY" -c "import sys; assert sys.version_info >= (3, 10), sys.version" \
  || { say "qwen-gui-agent needs Python 3.10 or newer: set PYTHON=/path/to/python3.x"; exit 1; }
pip() { "$PY" -m pip install -q "$@"; }

# torch first, so that the package's unpinned `torch>=2.4` finds it installed:
# no NVIDIA GPU -> the CPU build (about 200 MB instead of several GB of CUDA wheels);
# a GPU machine keeps (or gets) a CUDA build.
if "$PY" -c "import torch" 2>/dev/null; then
  say "torch $("$PY" -c 'import torch; print(torch.__version__)') is installed; kept"
elif nvidia-smi -L >/dev/null 2>&1; then
  say "NVIDIA GPU found: installing torch==$TORCH_VERSION (a CUDA build, from PyPI)"
  pip "torch==$TORCH_VERSION"
elif timeout 8 "$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/torch/', timeout=5)" \
    "$TORCH_CPU_INDEX" >/dev/null 2>&1; then
  say "no NVIDIA GPU: installing torch==$TORCH_VERSION+cpu from $TORCH_CPU_INDEX"
  pip "torch==$TORCH_VERSION+cpu" --index-url "$TORCH_CPU_INDEX"
else
  say "no NVIDIA GPU, and $TORCH_CPU_INDEX did not answer within 5 s:" \
      "looking for torch==$TORCH_VERSION+cpu where pip is configured to look (find-links, mirrors)"
  pip "torch==$TORCH_VERSION+cpu" || {
    say "torch==$TORCH_VERSION+cpu is not reachable. Install a torch build yourself, then run this again:"
    say "  $PY -m pip install torch==$TORCH_VERSION+cpu --index-url $TORCH_CPU_INDEX"
    exit 1
  }
fi

# The package, editable, with every extra. Skipped when nothing changed since the last run.
prefix=$("$PY" -c "import sys; print(sys.prefix)")
stamp="$prefix/.qwen-gui-agent-setup"
want="$(sha256sum pyproject.toml | cut -d' ' -f1) $PWD"
if [ "$(cat "$stamp" 2>/dev/null)" = "$want" ] \
    && "$PY" -c "import os, sys, qwen_gui_agent as q
sys.exit(os.path.realpath(os.path.dirname(q.__file__)) != os.path.realpath(sys.argv[1]))" "$PWD" 2>/dev/null; then
  say "qwen-gui-agent[dev] is installed from $PWD; pyproject.toml unchanged"
else
  say "installing qwen-gui-agent (editable) with every extra: pip install -e \".[dev]\""
  pip -e ".[dev]"
  echo "$want" >"$stamp" 2>/dev/null || true
fi

# -- adb ------------------------------------------------------------------------------
# adbutils ships an adb and uses the first adb on PATH, else its own. Exposing its
# own in the environment's bin gives users the same binary the library runs; when
# another adb is on PATH already, that one stays the only one (two adb versions
# kill each other's servers).
bin=$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
bundled=$("$PY" -c 'import adbutils, pathlib; print(pathlib.Path(adbutils.__file__).parent / "binaries" / "adb")')
other=$(PATH=$(tr ':' '\n' <<<"$PATH" | grep -vxF "$bin" | paste -sd: -) command -v adb || true)
if [ -e "$bin/adb" ]; then
  say "adb: $bin/adb"
elif [ -n "$other" ]; then
  say "adb: $other (already on PATH; adbutils uses it too)"
elif [ -x "$bundled" ] && [ -w "$bin" ]; then
  ln -s "$bundled" "$bin/adb"
  say "adb: linked $bin/adb -> adbutils' own adb"
else
  say "adb: not exposed ($bin is not writable); adbutils runs $bundled"
fi

# -- a browser for Playwright where the system has none (Ubuntu) ----------------------
if $want_browser && ! system_browser; then
  if ! "$PY" -c "import os, sys
from playwright.sync_api import sync_playwright
with sync_playwright() as p: sys.exit(not os.path.exists(p.chromium.executable_path))" 2>/dev/null; then
    say "installing Playwright's Chromium and its system libraries"
    "$PY" -m playwright install --with-deps chromium
  fi
fi
say "done ($("$PY" -c 'import sys; print(sys.executable)'))"
