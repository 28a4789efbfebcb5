"""A method may output per-case volumes (volumes.csv) instead of masks; they are scored per subject."""

from __future__ import annotations

import pandas as pd

from harness.config import load_benchmark
from harness.runner import run_benchmark
from tests.conftest import TINY_DEMO


def test_volume_output_is_scored_by_subject(write_benchmark) -> None:
    summary = run_benchmark(load_benchmark(write_benchmark(TINY_DEMO + "methods:\n  - name: volume_counter\n  - name: threshold_baseline\n")))
    assert summary.ok, summary.failed
    site = summary.report.parent
    metrics = pd.read_csv(site / "metrics.csv")
    assert "volume_counter" not in set(metrics["method"])  # no mask metrics for a volume-only method
    subjects = pd.read_csv(site / "subjects.csv")
    counter = subjects[subjects["method"] == "volume_counter"]
    assert len(counter) == 1 and counter["edv_pred_ml"].iloc[0] > 0
    assert abs(counter["ef_error_pct"].iloc[0]) < 100
    ef = pd.read_csv(site / "ef_summary.csv")
    assert set(ef["method"]) == {"volume_counter", "threshold_baseline"}
