"""Scheduler and planning speed: what a run costs besides the methods' own work.

Run: ``.venv/bin/python benchmarks/scheduler_bench.py [--work DIR] [--runs 3]``. Prints one line per figure.

Sections (each a function called from :func:`main`):

* :func:`makespan`: ``N`` independent trainings of a method that only sleeps (the ``napper_cpu`` fixture,
  ``T`` s each) on ``K`` slots, through ``segarena run`` (local: this machine's 2 slots; ray: a real
  two-node cluster on this machine, 1 CPU per node). Printed: the trainings' makespan (first start to
  last end, from the store) against the ideal ``N × bare / K`` (target ≤ 1.15), and the harness overhead
  per job: the median training job's duration in the store minus the same job's bare time (the method's
  ``main.py train`` run directly with the same arguments; targets: local ≤ 0.1 s, ray ≤ 0.5 s).

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


NAPPER = ROOT / "tests" / "fixtures" / "methods" / "napper_cpu"


def bare_job_s(seconds: float, runs: int) -> float:
    """The napper's training run directly (no harness): python main.py train --params ... --out ..."""
    with tempfile.TemporaryDirectory(prefix="segarena-bare-") as tmp:
        params = Path(tmp) / "params.json"
        params.write_text(f'{{"seconds": {seconds}}}')
        out = Path(tmp) / "out"
        out.mkdir()
        command = [sys.executable, str(NAPPER / "main.py"), "train", "--params", str(params), "--out", str(out)]
        return _median(runs, lambda: subprocess.run(command, check=True))


def write_sleepers(work: Path, n: int, seconds: float, executor: str) -> Path:
    work.mkdir(parents=True, exist_ok=True)
    path = work / "sleepers.yaml"
    methods = "".join(f"  - {{name: napper_cpu, id: s{i}, params: {{seconds: {seconds}, tag: s{i}}}}}\n"
                      for i in range(n))
    path.write_text(f"""schema_version: 1
name: sleepers
plugins:
  methods: [{NAPPER.parent}]
datasets:
  - name: demo_cine
    options: {{subjects: 4, frames: 2}}
methods:
{methods}factors:
  split: {{kind: holdout, test_fraction: 0.25}}
executor: {executor}
report: {{out: {work / 'report'}}}
run_dir: {work / 'run'}
""")
    return path


def makespan(work: Path, kind: str, n: int, seconds: float, slots: int, runs: int, address: str = "") -> dict[str, float]:
    """Run the sleepers benchmark from scratch under ``kind``; the trainings' makespan and overhead per job."""
    import shutil
    import sqlite3

    from harness.config import load_benchmark
    from harness.runner import run_benchmark

    executor = "{kind: local}" if kind == "local" else f"{{kind: ray, address: '{address}'}}"
    folder = work / f"makespan-{kind}"
    shutil.rmtree(folder / "run", ignore_errors=True)
    bench = load_benchmark(write_sleepers(folder, n, seconds, executor))
    summary = run_benchmark(bench)
    if not summary.ok:
        raise SystemExit(f"the sleepers under {kind} failed: {summary.failed[:2]}")
    assert bench.run_dir is not None
    with sqlite3.connect(bench.run_dir / "store.sqlite") as db:
        rows = db.execute("SELECT started_at, finished_at, duration_s FROM jobs WHERE kind = 'train'").fetchall()
    bare = bare_job_s(seconds, runs)
    span = max(r[1] for r in rows) - min(r[0] for r in rows)
    ideal = n * bare / slots
    overhead = statistics.median(r[2] for r in rows) - bare
    _line(f"{kind}: {n} x {seconds:g} s sleeps on {slots} slots, makespan", span, None,
          f"ideal {ideal:.2f} s (bare job {bare:.3f} s): {span / ideal:.3f} x ideal, target <= 1.15: "
          f"{'met' if span / ideal <= 1.15 else 'MISSED'}")
    target = 0.1 if kind == "local" else 0.5
    _line(f"{kind}: harness overhead per job", overhead, None,
          f"(median training job in the store - bare job), target <= {target:g} s: "
          f"{'met' if overhead <= target else 'MISSED'}")
    return {"makespan_s": span, "ideal_s": ideal, "overhead_s": overhead}


def ray_makespan(work: Path, n: int, seconds: float, runs: int) -> None:
    """:func:`makespan` under ray on a real two-node cluster started here (1 CPU per node)."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from ray_overhead import two_node_cluster

    with two_node_cluster() as cluster:
        makespan(work, "ray", n, seconds, 2, runs, cluster.address)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", type=Path, help="keep the benchmarks, run folders and cache here (reused)")
    parser.add_argument("--runs", type=int, default=3, help="timed repetitions of each figure (median)")
    parser.add_argument("--jobs", type=int, default=8, help="sleep jobs of the makespan section")
    parser.add_argument("--sleep", type=float, default=3.0, help="seconds each of them sleeps")
    parser.add_argument("--skip", nargs="*", default=[], choices=["local", "ray", "thousand"])
    args = parser.parse_args()
    work = args.work.resolve() if args.work else Path(tempfile.mkdtemp(prefix="segarena-scheduler-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["SEGARENA_CACHE"] = str(work / "cache")  # never the user's cache
    print(f"work folder {work}, interpreter {sys.executable}, median of {args.runs}", flush=True)
    if "local" not in args.skip:
        makespan(work, "local", args.jobs, args.sleep, 2, args.runs)
    if "ray" not in args.skip:
        ray_makespan(work, args.jobs, args.sleep, args.runs)
    if "thousand" not in args.skip:
        thousand_jobs(work / "thousand_jobs", args.runs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
