"""Speed and size of the report on 100,000 metric rows: 20 methods × 5 datasets × 1,000 test cases.

Run: ``.venv/bin/python benchmarks/report_bench.py [--scheme aggregate_then_rank|rank_then_aggregate|test_then_rank]``
(default: each of the three, one after another).

The rows are synthetic (one structure per dataset, Dice only; 250 subjects of 4 cases each, so the bootstrap
and the paired tests have 250 subjects and 20 entries per board). The report is rendered exactly as a run
renders it (``render_report``: leaderboards with the declared ranking scheme, 1,000 bootstrap resamples,
significance maps, blob plots, distributions, consensus, overview, CSVs, report.json), without overlays
(no images: those scale with the cases drawn, 3 per method and dataset). Printed: the time against the
goal of 15 s and the site's size against the goal of 10 MB (issue 14), each as a ratio.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from harness.config.models import Benchmark
from harness.report import render_report
from harness.report.inputs import ReportInputs

N_METHODS, N_DATASETS, N_CASES, CASES_PER_SUBJECT = 20, 5, 1000, 4
GOAL_S, GOAL_MB = 15.0, 10.0


def synthetic_rows(seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    skill = np.linspace(0.70, 0.90, N_METHODS)
    frames = []
    for d in range(N_DATASETS):
        hardness = rng.normal(0, 0.08, size=N_CASES)  # shared by every method: paired data
        for m in range(N_METHODS):
            values = np.clip(skill[m] + hardness + rng.normal(0, 0.05, size=N_CASES), 0, 1)
            frames.append(pd.DataFrame({
                "dataset": f"dataset{d}", "method": f"method{m:02d}", "regime": "scratch", "subset": "all",
                "fold": 0, "seed": 0, "case": [f"s{c // CASES_PER_SUBJECT:04d}_f{c % CASES_PER_SUBJECT}"
                                                  for c in range(N_CASES)],
                "subject": [f"s{c // CASES_PER_SUBJECT:04d}" for c in range(N_CASES)], "phase": "", "frame": 0,
                "label": "FG", "metric": "dice", "value": values, "status": "ok"}))
    return pd.concat(frames, ignore_index=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scheme", default="all",
                        choices=["all", "aggregate_then_rank", "rank_then_aggregate", "test_then_rank"])
    args = parser.parse_args()
    rows = synthetic_rows()
    schemes = ["aggregate_then_rank", "rank_then_aggregate", "test_then_rank"] if args.scheme == "all" \
        else [args.scheme]
    for scheme in schemes:
        measure(rows, scheme)


def measure(rows: pd.DataFrame, scheme: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        site = Path(tmp) / "site"
        bench = Benchmark.model_validate({
            "schema_version": 1, "name": "report_bench", "datasets": [{"name": "demo_cine"}],
            "report": {"out": str(site), "title": "report_bench", "overlays": False,
                       "ranking": {"scheme": scheme}}})
        started = time.perf_counter()
        render_report(bench, ReportInputs(metrics=rows, subjects=pd.DataFrame()))
        seconds = time.perf_counter() - started
        size = sum(p.stat().st_size for p in site.rglob("*") if p.is_file())
        page = (site / "index.html").stat().st_size
        data = (site / "metrics.csv").stat().st_size
    mb = size / 2**20
    print(f"report_bench: {len(rows):,} metric rows ({N_METHODS} methods x {N_DATASETS} datasets x {N_CASES} cases), "
          f"scheme {scheme}")
    print(f"  render time  {seconds:6.1f} s   goal {GOAL_S:.0f} s   ratio {seconds / GOAL_S:.2f}")
    print(f"  site size    {mb:6.1f} MB  goal {GOAL_MB:.0f} MB  ratio {mb / GOAL_MB:.2f}  (index.html {page / 2**20:.1f} MB, "
          f"metrics.csv {data / 2**20:.1f} MB)")


if __name__ == "__main__":
    main()
