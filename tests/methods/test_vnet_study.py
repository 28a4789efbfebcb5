"""The LA 2018 VNet study's CPU twin (benchmarks/la2018_demo.yaml), a smaller copy: two of its rows.

The copy keeps the twin's data, split and settings and runs two of its seven methods (the locate-then-crop
VNet with Dice loss, and BAM r4 d4 with the hybrid loss), then reads the report: the seed's results-table
columns per method (parameters and training time from the compute table, HD, IoU, precision, recall and
Dice per case in metrics.csv, mean ± sd on the page). The full twin is what a user runs (README, Measured).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import yaml

from harness.config import load_benchmark
from harness.runner import run_benchmark
from harness.settings import repo_root

KEEP = ("vnet_dice", "vnet_bam_r4_d4_hybrid")


def small_copy(name: str, keep: tuple[str, ...], folder: Path) -> Path:
    body = yaml.safe_load((repo_root() / "benchmarks" / f"{name}.yaml").read_text())
    body["methods"] = [m for m in body["methods"] if m.get("id", m["name"]) in keep]
    body["report"]["out"] = str(folder / "report")
    body["run_dir"] = str(folder / "run")
    path = folder / f"{name}.yaml"
    path.write_text(yaml.safe_dump(body))
    return path


def seed_table(site: Path, label: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The report's compute table (entry: parameters, training seconds) and, per (method, regime), the
    mean and sd over test cases of HD, IoU, precision, recall and Dice of ``label`` from metrics.csv."""
    report = json.loads((site / "report.json").read_text())
    compute = pd.DataFrame(report["compute"]).set_index("entry")[["parameters", "train_s"]]
    metrics = pd.read_csv(site / "metrics.csv")
    rows = metrics[(metrics["label"] == label) & metrics["metric"].isin(["hd_mm", "iou", "precision", "recall", "dice"])]
    stats = rows.groupby(["method", "regime", "metric"])["value"].agg(["mean", "std"]).unstack("metric")
    stats.columns = [f"{metric}_{stat}" for stat, metric in stats.columns]
    return compute, stats.reset_index("regime")


@pytest.mark.slow
def test_the_la2018_twin_reaches_the_dice_and_shows_the_seed_table(tmp_path: Path) -> None:
    summary = run_benchmark(load_benchmark(small_copy("la2018_demo", KEEP, tmp_path)))
    assert summary.ok, summary.failed
    site = summary.report.parent
    compute, stats = seed_table(site, "LA")
    assert set(compute.index) == set(stats.index) == set(KEEP)
    assert stats.loc["vnet_dice", "dice_mean"] >= 0.7, stats
    assert (compute["parameters"] > 0).all() and (compute["train_s"] > 0).all()
    for column in ("hd_mm_mean", "iou_mean", "precision_mean", "recall_mean", "dice_std", "hd_mm_std"):
        assert stats[column].notna().all(), column
    assert compute.loc["vnet_bam_r4_d4_hybrid", "parameters"] > compute.loc["vnet_dice", "parameters"]  # BAM
    page = (site / "index.html").read_text()
    assert "± sd" in page and all(entry in page for entry in KEEP)
