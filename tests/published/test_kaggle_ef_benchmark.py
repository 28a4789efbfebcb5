"""`segarena run benchmarks/cmr_seg_tl_kaggle_ef.yaml` reproduces the paper's EF table."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness.config import load_benchmark
from harness.runner import run_benchmark

REPO = Path(__file__).resolve().parents[2]
REFDATA = REPO.parent / "shared" / "refdata" / "cmr-seg-tl"


@pytest.mark.skipif(not REFDATA.is_dir(), reason=f"reference data not found at {REFDATA}")
def test_benchmark_reproduces_the_first_row_and_has_every_model(tmp_path: Path) -> None:
    bench = load_benchmark(REPO / "benchmarks" / "cmr_seg_tl_kaggle_ef.yaml")
    bench = bench.model_copy(update={"run_dir": tmp_path / "run",
                                     "report": bench.report.model_copy(update={"out": tmp_path / "site"})})
    summary = run_benchmark(bench)
    assert summary.ok, summary.failed
    table = pd.read_csv(tmp_path / "site" / "ef_summary.csv")
    assert list(table.columns) == ["method", "mean", "sd", "median", "iqr"]
    first = table.set_index("method").loc["r34_p05_s256"]
    assert (first["mean"], first["sd"], first["median"], first["iqr"]) == (3.64, 3.38, 2.87, 3.72)
    assert len(table) == 11 and "UKBB" in set(table["method"])
    assert table[["mean", "sd", "median", "iqr"]].notna().all().all()
    html = (tmp_path / "site" / "index.html").read_text()
    assert "r34_p05_s256" in html and "3.64" in html and "UKBB" in html
