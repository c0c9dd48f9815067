# Sourced by the scripts here (from the repository root): sets $PY, the Python
# that setup.sh installs into and that test.sh and demo.sh run.
# PYTHON=/path/to/python wins, then an active virtualenv, then .venv in the repository.
if [ -n "${PYTHON:-}" ]; then
  PY=$PYTHON
elif [ -n "${VIRTUAL_ENV:-}" ]; then
  PY=$VIRTUAL_ENV/bin/python
else
  PY=$PWD/.venv/bin/python
fi

# What `source .venv/bin/activate` does for commands: the environment's own
# scripts (qwen-agent, adb) come first on PATH.
activate_env() {
  local bin
  bin=$("$PY" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')
  export PATH="$bin:$PATH"
}
