"""unet2d really learns: on tiny phantoms it beats the threshold baseline's LV Dice."""

from __future__ import annotations

import pandas as pd
import pytest

from harness.config import load_benchmark
from harness.runner import run_benchmark
from tests.conftest import TINY_DEMO


@pytest.mark.slow
def test_unet2d_trains_predicts_and_beats_the_baseline(write_benchmark) -> None:
    body = TINY_DEMO.replace("subjects: 4, frames: 2", "subjects: 6, frames: 2") + (
        "methods:\n  - name: threshold_baseline\n  - name: unet2d\n"
        "    params: {epochs: 4, batch_size: 8, image_size: 96, learning_rate: 0.003}\n"
    )
    summary = run_benchmark(load_benchmark(write_benchmark(body)))
    assert summary.ok, summary.failed
    metrics = pd.read_csv(summary.report.parent / "metrics.csv")
    lv = metrics[(metrics["label"] == "LV") & (metrics["metric"] == "dice")].groupby("method")["value"].mean()
    assert lv["unet2d"] > 0.8
    assert lv["unet2d"] > lv["threshold_baseline"]
    model_dir = summary.run_dir / "jobs" / "train"
    assert any((d / "model" / "model.pt").is_file() for d in model_dir.iterdir())
    assert any((d / "model" / "history.csv").is_file() for d in model_dir.iterdir())
