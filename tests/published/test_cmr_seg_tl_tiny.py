"""The cmr-seg-tl loader on a tiny hand-computed copy of the reference-data layout (fast)."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from harness.errors import InputDataError
from harness.metrics.clinical import ClinicalSettings
from harness.published import ef_error_table, load_cmr_seg_tl_kaggle
from harness.published.cmr_seg_tl import select_series


@pytest.fixture()
def tiny(tiny_refdata_dir: Path) -> Path:
    return tiny_refdata_dir


def test_series_selection_prefers_rot90_and_keeps_split_series() -> None:
    assert select_series(["1", "1_rot90", "2_a", "2_b", "3"]) == ["1_rot90", "2_a", "2_b", "3"]


def test_tiny_volumes_by_hand(tiny: Path) -> None:
    results = load_cmr_seg_tl_kaggle(tiny)
    subjects = results.subjects.set_index(["method", "subject"])
    assert len(results.methods) == 11 and results.methods[-1] == "UKBB"
    assert set(results.subjects["subject"]) == {"1_rot90", "2_a", "2_b", "3"}
    # 1_rot90: pid 1, max(192, 256)² · 1.5 · 1.5 · 10 / (1000 · 256²) = 0.0225 ml per pixel at 256
    r1 = subjects.loc[("r34_p05_s256", "1_rot90")]
    assert (r1["ed_frame"], r1["es_frame"]) == (0, 1)  # tie between frames 0 and 2: the first
    assert r1["edv_pred_ml"] == pytest.approx(200 * 0.0225) and r1["esv_pred_ml"] == pytest.approx(100 * 0.0225)
    assert r1["edv_true_ml"] == 100.0 and r1["patient"] == "1"
    # the 128 grid: counts are a quarter, each pixel 4× the volume
    s128 = subjects.loc[("r34_p05_s128", "1_rot90")]
    assert s128["edv_pred_ml"] == pytest.approx(50 * 0.09)
    # 3: pid 3, 256² · 2 · 2 · 5 / (1000 · 256²) = 0.02 ml; frames total 40, 40, 30 → ED 0, ES 2
    r3 = subjects.loc[("r34_p05_s256", "3")]
    assert (r3["ed_frame"], r3["es_frame"], r3["edv_pred_ml"]) == (0, 2, pytest.approx(0.8))
    assert r3["ef_true_fraction"] == pytest.approx(0.75)
    # 2_a and 2_b share patient 2's truth
    assert subjects.loc[("r34_p05_s256", "2_b"), "edv_true_ml"] == 60.0
    assert math.isnan(subjects.loc[("r34_p05_s256", "2_b"), "ef_pred_fraction"])
    assert subjects.loc[("UKBB", "1_rot90"), "edv_pred_ml"] == 0.0  # the _rot90 row of the UKBB table


def test_tiny_ef_table_penalty_and_exclude(tiny: Path) -> None:
    results = load_cmr_seg_tl_kaggle(tiny)
    table = ef_error_table(results).set_index("method")
    assert list(table.columns) == ["n", "mean", "sd", "median", "iqr", "n_undefined"]
    row = table.loc["r34_p05_s256"]
    # |EF errors|: 1_rot90 0.5 − 0.5 = 0; 2_a 0.5 − 0.5 = 0; 2_b undefined → 1.0; 3: 0.75 − 0.25 = 0.5
    assert (row["n"], row["n_undefined"]) == (4, 1)
    assert row["mean"] == 37.5 and row["median"] == 25.0
    excluded = ef_error_table(results, ClinicalSettings(ef_undefined="exclude")).set_index("method")
    assert (excluded.loc["r34_p05_s256", "n"], excluded.loc["r34_p05_s256", "n_undefined"]) == (3, 1)
    assert excluded.loc["r34_p05_s256", "mean"] == pytest.approx(16.67)
    assert table.loc["UKBB", "n_undefined"] == 1


def test_missing_file_names_the_file(tiny: Path) -> None:
    (tiny / "kaggle" / "patient_dimensions.tsv").unlink()
    with pytest.raises(InputDataError, match="patient_dimensions.tsv is missing"):
        load_cmr_seg_tl_kaggle(tiny)


def test_bad_image_names_and_missing_truth_are_input_errors(tiny: Path) -> None:
    path = tiny / "kaggle" / "predictions" / "lv_pixels_per_image_10models.tsv.xz"
    table = pd.read_csv(path, sep="\t", dtype={"image": str})
    table.loc[0, "image"] = "1-f0-s0"
    table.to_csv(path, sep="\t", index=False)
    with pytest.raises(InputDataError, match="1-f0-s0"):
        load_cmr_seg_tl_kaggle(tiny)
    table.loc[0, "image"] = "1-frame000-slice000"
    table.to_csv(path, sep="\t", index=False)
    pd.DataFrame({"Id": ["3_Diastole"], "Volume": [80.0]}).to_csv(
        tiny / "kaggle" / "truth" / "solution.csv", index=False
    )
    with pytest.raises(InputDataError, match="lack a volume"):
        load_cmr_seg_tl_kaggle(tiny)
