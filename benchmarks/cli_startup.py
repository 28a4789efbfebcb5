"""Start-up time of the ``segarena`` CLI against a bare interpreter (issue 10: target ≤ 0.3 s).

Run: ``.venv/bin/python benchmarks/cli_startup.py [--runs 15]``. Each command runs as a fresh
process, as a user types it; the wall time of every run is taken and the median reported, with
the spread (min, max). The reference is ``python -c pass`` on the same interpreter, measured in
the same run (interleaved, so load on the machine hits both alike).

Commands: ``segarena --help`` and ``segarena validate benchmark.yaml`` (the demo benchmark: the
schema, its dataset and method cards, every path check). Prints each median, its excess over the
bare interpreter, and whether it meets the target.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.3
CLI = "from harness.cli.main import main; main()"


def _time(command: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}): {done.stderr.strip()[-500:]}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    commands = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "segarena --help": [sys.executable, "-c", CLI, "--help"],
        "segarena validate benchmark.yaml": [sys.executable, "-c", CLI, "validate", "benchmark.yaml"],
    }
    for command in commands.values():  # warm the page cache and the bytecode caches
        _time(command)
    times: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(args.runs):
        for name, command in commands.items():
            times[name].append(_time(command))
    bare = statistics.median(times["python -c pass"])
    print(f"{args.runs} runs each, interpreter {sys.executable}")
    failed = False
    for name, values in times.items():
        median = statistics.median(values)
        line = f"{name:<36} median {median:.3f} s (min {min(values):.3f}, max {max(values):.3f})"
        if name != "python -c pass":
            meets = median <= TARGET_S
            failed |= not meets
            line += f"  = bare + {median - bare:.3f} s, {median / bare:.1f}x; target ≤ {TARGET_S} s: "
            line += "met" if meets else "MISSED"
        print(line)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
