"""Run every benchmark in this folder, one after another, and print their tables.

Each benchmark measures its part against the bare backend call in the same
run and reports ratios; absolute times depend on the machine. Arguments after
``--`` are not accepted: run a single ``bench_*.py`` for its own options.

    python benchmarks/run_all.py
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    failed = []
    for script in sorted(HERE.glob("bench_*.py")):
        print(f"\n=== {script.name} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        print(f"--- {script.name}: exit {code} in {time.perf_counter() - started:.1f}s", flush=True)
        if code:
            failed.append(script.name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
