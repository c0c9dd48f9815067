"""Run every benchmark in this folder, one after another, then list their targets together.

Each benchmark measures its part against the bare backend call (or the stock
path) in the same run and reports ratios; absolute times depend on the
machine. Lines a benchmark prints through ``_report.target`` are gathered into
one table at the end: measured figure, goal, verdict and the baseline of the
same run. ``--only`` picks benchmarks by name (``--only model preprocess``
runs ``bench_model.py`` and ``bench_preprocess.py``); run a single
``bench_*.py`` for its own options.

    python benchmarks/run_all.py [--only NAME ...]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from _report import PREFIX

HERE = Path(__file__).resolve().parent


def run(script: Path) -> tuple[int, list[str]]:
    """Run one benchmark, echoing its output; return its exit code and target lines."""
    targets = []
    with subprocess.Popen([sys.executable, str(script)], cwd=HERE.parent, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          env={**os.environ, "PYTHONUNBUFFERED": "1"}) as process:
        assert process.stdout is not None
        for line in process.stdout:
            print(line, end="", flush=True)
            if line.startswith(PREFIX):
                targets.append(line[len(PREFIX):].rstrip("\n"))
    return process.returncode, targets


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", default=None, metavar="NAME",
                        help="benchmark names without the bench_ prefix (default: all)")
    args = parser.parse_args(argv)
    scripts = sorted(HERE.glob("bench_*.py"))
    if args.only:
        scripts = [s for s in scripts if s.stem.removeprefix("bench_") in args.only]
        missing = set(args.only) - {s.stem.removeprefix("bench_") for s in scripts}
        if missing:
            parser.error(f"no benchmark named {', '.join(sorted(missing))}")
    failed, targets = [], []
    for script in scripts:
        print(f"\n=== {script.name} ===", flush=True)
        started = time.perf_counter()
        code, found = run(script)
        targets += found
        print(f"--- {script.name}: exit {code} in {time.perf_counter() - started:.1f}s", flush=True)
        if code:
            failed.append(script.name)
    if targets:
        print(f"\n=== targets (load average {os.getloadavg()[0]:.1f}) ===")
        print("target | measured | goal | verdict | baseline, same run")
        for line in targets:
            print(line)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
