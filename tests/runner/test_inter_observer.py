"""A second rater's masks (cine7t labelsTr_<rater>/) appear as an inter-observer leaderboard row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from harness.config import load_benchmark
from harness.runner import run_benchmark
from tests.support.raw_cine7t import Volunteer, write_volunteer


def test_second_rater_scored_against_the_reference(write_benchmark, tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    for subject in ("v01", "v02", "v03"):
        raters = {"alice": 0.0, "bob": 0.4} if subject != "v03" else {"alice": 0.0}
        write_volunteer(raw, Volunteer(subject=subject), raters)
    body = (f"datasets:\n  - name: cine7t\n    raw: {raw}\n"
            "factors:\n  split: {kind: kfold, n_folds: 3}\nmethods:\n  - name: threshold_baseline\n")
    summary = run_benchmark(load_benchmark(write_benchmark(body)))
    assert summary.ok, summary.failed
    metrics = pd.read_csv(summary.report.parent / "metrics.csv")
    bob = metrics[metrics["method"] == "rater:bob"]
    assert set(bob["subject"]) == {"v01", "v02"}  # v03 has no second rater: excluded, not failed
    assert set(bob["status"]) <= {"ok", "both_empty"}
    lv_dice = bob[(bob["label"] == "LV") & (bob["metric"] == "dice")]["value"]
    assert 0.8 < lv_dice.mean() < 1.0  # bob's contours are alice's grown by 0.4 px
    assert "rater:bob" in summary.report.read_text()
