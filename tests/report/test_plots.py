"""The report's inline SVG figures: per-case distributions and Bland–Altman plots."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from harness.report.plots import bland_altman_svg, distribution_svg, has_values


def test_distribution_names_each_entry_and_is_deterministic() -> None:
    values = {"unet2d": np.array([0.95, 0.97, 0.96, np.nan]), "threshold_baseline": np.array([0.6, 0.7, 0.2])}
    svg = distribution_svg(values, "dice")
    assert svg.startswith("<svg") and "<?xml" not in svg
    texts = re.findall(r">([^<>]+)</text>", svg)
    assert "unet2d" in texts and "threshold_baseline" in texts and "dice per case" in texts
    assert distribution_svg(values, "dice") == svg  # same results, same page
    assert has_values(values) and not has_values({"a": np.array([np.nan])})


def test_bland_altman_titles_carry_bias_and_limits_of_agreement() -> None:
    true_edv = np.array([120.0, 140.0, 160.0, 180.0])
    pred_edv = true_edv - np.array([2.0, 4.0, 6.0, 8.0])  # true − predicted: 2, 4, 6, 8 → bias 5, sd 2.582
    subjects = pd.DataFrame({
        "edv_true_ml": true_edv, "edv_pred_ml": pred_edv,
        "esv_true_ml": true_edv / 2, "esv_pred_ml": true_edv / 2,
        "ef_true_pct": [50.0] * 4, "ef_pred_pct": [48.0, 52.0, 49.0, np.nan],  # NaN: left out
    })
    svg = bland_altman_svg(subjects, "demo: unet2d")
    texts = " ".join(re.findall(r">([^<>]+)</text>", svg))
    sd = np.std([2.0, 4.0, 6.0, 8.0], ddof=1)
    assert f"EDV: bias 5.00, LoA ±{1.96 * sd:.2f} ml" in texts
    assert "ESV: bias 0.00, LoA ±0.00 ml" in texts
    assert "EF: bias 0.33" in texts  # (2 − 2 + 1) / 3
    assert "demo: unet2d" in texts
