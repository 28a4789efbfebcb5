"""Scheduler and planning speed: what a run costs besides the methods' own work.

Run: ``.venv/bin/python benchmarks/scheduler_bench.py [--work DIR] [--runs 3]``. Prints one line per figure.

Sections (each a function called from :func:`main`):

* :func:`thousand_jobs`: a 1,000-job benchmark (the ``noop`` fixture method, stdlib only, 5 folds × 67 seeds
  over a 10-subject ``demo_cine``: 335 train + 335 predict + 335 evaluate + convert, split, report = 1,008
  jobs). It is run once to completion (timed: the local executor's cost per job with no method work), then
  ``segarena plan`` (a CLI process, and in-process: plan + explain) and a full-resume ``segarena run``
  (everything complete: a CLI process, and in-process ``run_benchmark``) are timed, each the median of
  ``--runs``, against the target of 5 s (issue 13). ``--work DIR`` keeps the benchmark, its run folder and
  its cache there: a second call finds the run complete and times only plan and resume.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CLI = "from harness.cli.main import main; main()"
TARGET_S = 5.0
FOLDS, SEEDS, SUBJECTS = 5, 67, 10


def _line(name: str, seconds: float, target: float | None = None, extra: str = "") -> None:
    text = f"{name:<44} {seconds:8.3f} s"
    if target is not None:
        text += f"  = {seconds / target:.2f} of the {target:g} s target: {'met' if seconds <= target else 'MISSED'}"
    print(text + (f"  {extra}" if extra else ""), flush=True)


def _median(runs: int, action: Callable[[], object]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _cli(*args: str) -> Callable[[], None]:
    def call() -> None:
        done = subprocess.run([sys.executable, "-c", CLI, *args], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
        if done.returncode != 0:
            raise SystemExit(f"segarena {' '.join(args)} failed ({done.returncode}): {done.stderr.strip()[-800:]}")
    return call


def write_thousand_jobs(work: Path) -> Path:
    """The 1,008-job benchmark file in ``work`` (its run folder and report beside it)."""
    work.mkdir(parents=True, exist_ok=True)
    path = work / "thousand.yaml"
    path.write_text(textwrap.dedent(f"""\
        schema_version: 1
        name: thousand
        plugins:
          methods: [{ROOT / 'tests' / 'fixtures' / 'methods'}]
        datasets:
          - name: demo_cine
            options: {{subjects: {SUBJECTS}, frames: 2}}
        methods:
          - name: noop
        factors:
          split: {{kind: kfold, n_folds: {FOLDS}}}
          seeds: [{', '.join(str(s) for s in range(SEEDS))}]
        report: {{out: {work / 'report'}}}
        run_dir: {work / 'run'}
        """))
    return path


def thousand_jobs(work: Path, runs: int) -> None:
    from harness.config import load_benchmark
    from harness.datasets.registry import DatasetRegistry
    from harness.methods.registry import MethodRegistry
    from harness.plan import build_plan
    from harness.plan.check import check_benchmark
    from harness.runner import run_benchmark
    from harness.runner.explain import explain_benchmark

    path = write_thousand_jobs(work)
    bench = load_benchmark(path)
    assert bench.run_dir is not None
    plan = build_plan(bench, DatasetRegistry(bench.plugins.datasets), MethodRegistry(bench.plugins.methods))
    n_jobs = len(plan.jobs)
    pending = explain_benchmark(plan, bench.run_dir).counts()
    if pending["complete"] < n_jobs:
        started = time.perf_counter()
        summary = run_benchmark(bench)
        elapsed = time.perf_counter() - started
        if not summary.ok:
            raise SystemExit(f"the {n_jobs}-job run failed: {summary.failed[:3]}")
        ran = len(summary.executed)
        _line(f"{n_jobs} jobs: run to complete ({ran} run)", elapsed, None,
              f"{1000 * elapsed / max(ran, 1):.0f} ms per job (noop method, local executor)")
    else:
        print(f"{n_jobs} jobs: already complete in {bench.run_dir} (run to complete not timed)")

    def plan_in_process() -> None:
        bench, datasets, methods = check_benchmark(path)
        assert bench.run_dir is not None
        explanation = explain_benchmark(build_plan(bench, datasets, methods), bench.run_dir)
        assert explanation.counts()["complete"] == n_jobs, explanation.summary()

    def resume_in_process() -> None:
        bench, datasets, methods = check_benchmark(path)
        summary = run_benchmark(bench, datasets=datasets, methods=methods)
        assert not summary.executed and len(summary.skipped) == n_jobs

    _line(f"{n_jobs} jobs: segarena plan (CLI process)", _median(runs, _cli("plan", str(path))), TARGET_S)
    _line(f"{n_jobs} jobs: plan + explain (in-process)", _median(runs, plan_in_process), TARGET_S)
    _line(f"{n_jobs} jobs: segarena run, all complete (CLI)", _median(runs, _cli("run", str(path))), TARGET_S)
    _line(f"{n_jobs} jobs: run_benchmark, all complete (in-process)", _median(runs, resume_in_process), TARGET_S)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="keep the benchmarks, run folders and cache here (reused)")
    parser.add_argument("--runs", type=int, default=3, help="timed repetitions of each figure (median)")
    args = parser.parse_args()
    work = args.work.resolve() if args.work else Path(tempfile.mkdtemp(prefix="segarena-scheduler-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["SEGARENA_CACHE"] = str(work / "cache")  # never the user's cache
    print(f"work folder {work}, interpreter {sys.executable}, median of {args.runs}", flush=True)
    thousand_jobs(work / "thousand_jobs", args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
