"""The BraTS 2018 study's CPU twin (benchmarks/brats2018_demo.yaml), a smaller copy: the SegResNet rows.

The copy keeps the twin's phantom data, regimes (pretrain on another phantom set, scratch, fine-tune from the
pretrained model) and settings, leaves out nnU-Net 3d_fullres (the full twin runs it), and reads the report:
WT, TC and ET scored per region, the seed's table columns per method (parameters, training time, HD, IoU,
precision, recall, Dice, mean ± sd).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness.config import load_benchmark
from harness.runner import run_benchmark
from tests.methods.test_vnet_study import seed_table, small_copy


@pytest.mark.slow
def test_the_brats2018_twin_reaches_the_wt_dice_and_scores_every_region(tmp_path: Path) -> None:
    summary = run_benchmark(load_benchmark(small_copy("brats2018_demo", ("segresnet",), tmp_path)))
    assert summary.ok, summary.failed
    site = summary.report.parent
    metrics = pd.read_csv(site / "metrics.csv")
    target = metrics[(metrics["dataset"] == "brats_target") & (metrics["metric"] == "dice")]
    assert set(target["label"]) == {"WT", "TC", "ET"}
    wt = target[target["label"] == "WT"].groupby("regime")["value"].mean()
    assert set(wt.index) == {"scratch", "finetune"}
    assert wt["scratch"] >= 0.6 and wt["finetune"] >= 0.6, wt
    compute, stats = seed_table(site, "WT")
    assert len(compute) == 3 and (compute["parameters"] == 1_176_843).all()  # init_filters 8, 4 channels, 3 regions
    assert (compute["train_s"] > 0).all()
    assert set(stats["regime"]) == {"pretrain", "scratch", "finetune"}
    assert stats[["hd_mm_mean", "iou_mean", "precision_mean", "recall_mean", "dice_std"]].notna().all().all()
    assert "± sd" in (site / "index.html").read_text()
