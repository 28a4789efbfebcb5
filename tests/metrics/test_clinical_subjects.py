"""Long per-case volume rows → per-subject rows, on a hand-computed two-subject example."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from harness.errors import ConfigError, InputDataError
from harness.metrics.clinical import ClinicalSettings, compute_subject_indices, count_ef_statuses
from harness.stats import summarise

# s1: reference LV ED=frame 0 (100), ES=frame 2 (50); prediction LV ED=frame 1 (95), ES=frame 3 (40).
CURVES = {
    "s1": {
        ("lv", "ref"): (100.0, 80.0, 50.0, 90.0),
        ("lv", "pred"): (90.0, 95.0, 60.0, 40.0),
        ("myo", "ref"): (40.0, 41.0, 42.0, 43.0),
        ("myo", "pred"): (30.0, 31.0, 32.0, 33.0),
        ("rv", "ref"): (120.0, 110.0, 70.0, 100.0),
        ("rv", "pred"): (100.0, 110.0, 80.0, 90.0),
    },
    "s2": {  # an empty prediction: EDV = 0, EF undefined
        ("lv", "ref"): (100.0, 80.0, 50.0, 90.0),
        ("lv", "pred"): (0.0, 0.0, 0.0, 0.0),
    },
}


def make_rows(phases: dict[int, str] | None = None, method: str = "m") -> pd.DataFrame:
    rows = []
    for subject, curves in CURVES.items():
        for structure in ("lv", "myo", "rv"):
            if (structure, "ref") not in curves:
                continue
            for frame in range(4):
                rows.append(
                    {
                        "method": method,
                        "subject": subject,
                        "frame": frame,
                        "phase": (phases or {}).get(frame, ""),
                        "structure": structure,
                        "volume_pred_ml": curves[(structure, "pred")][frame],
                        "volume_ref_ml": curves[(structure, "ref")][frame],
                    }
                )
    return pd.DataFrame(rows)


def row_of(table: pd.DataFrame, subject: str) -> pd.Series:
    return table.set_index("subject").loc[subject]


def test_own_extrema_by_default() -> None:
    s1 = row_of(compute_subject_indices(make_rows()), "s1")
    assert (s1["ed_frame_pred"], s1["es_frame_pred"], s1["ed_frame_true"], s1["es_frame_true"]) == (1, 3, 0, 2)
    assert s1["frame_rule"] == "extrema"
    assert (s1["edv_pred_ml"], s1["esv_pred_ml"], s1["edv_true_ml"], s1["esv_true_ml"]) == (95, 40, 100, 50)
    assert s1["edv_error_ml"] == 5.0 and s1["esv_error_ml"] == 10.0  # true − predicted
    assert s1["ef_true_pct"] == pytest.approx(50.0)
    assert s1["ef_pred_pct"] == pytest.approx(100 * 55 / 95)
    assert s1["ef_error_pct"] == pytest.approx(50.0 - 100 * 55 / 95)
    assert s1["ef_abs_error_pct"] == pytest.approx(100 * 55 / 95 - 50.0)
    assert s1["lv_mass_true_g"] == pytest.approx(42.0) and s1["lv_mass_pred_g"] == pytest.approx(31 * 1.05)
    assert s1["rv_ef_true_pct"] == pytest.approx(100 * 50 / 120)
    assert s1["rv_ef_pred_pct"] == pytest.approx(100 * 20 / 110)  # RV read at the prediction's LV frames 1 and 3


def test_reference_and_prediction_frame_sources() -> None:
    by_ref = row_of(compute_subject_indices(make_rows(), ClinicalSettings(frame_source="reference")), "s1")
    assert (by_ref["ed_frame_pred"], by_ref["es_frame_pred"]) == (0, 2)
    assert by_ref["ef_pred_pct"] == pytest.approx(100 * 30 / 90)
    by_pred = row_of(compute_subject_indices(make_rows(), ClinicalSettings(frame_source="prediction")), "s1")
    assert (by_pred["ed_frame_true"], by_pred["es_frame_true"]) == (1, 3)
    assert by_pred["ef_true_pct"] == pytest.approx(100 * (80 - 90) / 80)


def test_phase_labels_override_extrema_for_both_sources() -> None:
    labelled = make_rows(phases={3: "ED", 2: "es"})
    s1 = row_of(compute_subject_indices(labelled), "s1")
    assert s1["frame_rule"] == "labels"
    assert (s1["ed_frame_pred"], s1["es_frame_pred"], s1["ed_frame_true"], s1["es_frame_true"]) == (3, 2, 3, 2)
    assert s1["ef_true_pct"] == pytest.approx(100 * 40 / 90)
    assert s1["ef_pred_pct"] == pytest.approx(-50.0)
    ignored = row_of(compute_subject_indices(labelled, ClinicalSettings(use_phase_labels=False)), "s1")
    assert ignored["frame_rule"] == "extrema"


def test_empty_prediction_penalty_versus_exclude() -> None:
    penalised = row_of(compute_subject_indices(make_rows()), "s2")
    assert penalised["edv_pred_ml"] == 0.0 and math.isnan(penalised["ef_pred_pct"])
    assert penalised["ef_abs_error_pct"] == 100.0 and penalised["ef_status"] == "penalised_pred_undefined"
    assert penalised["edv_error_ml"] == 100.0  # volumes stay defined
    excluded_table = compute_subject_indices(make_rows(), ClinicalSettings(ef_undefined="exclude"))
    excluded = row_of(excluded_table, "s2")
    assert math.isnan(excluded["ef_abs_error_pct"]) and excluded["ef_status"] == "excluded_pred_undefined"
    summary = summarise(excluded_table["ef_abs_error_pct"])
    assert (summary.n, summary.n_excluded) == (1, 1)
    assert count_ef_statuses(excluded_table) == {"m/excluded_pred_undefined": 1, "m/ok": 1}


def test_missing_prediction_counts_as_undefined() -> None:
    rows = make_rows()
    rows.loc[(rows["subject"] == "s1") & (rows["frame"] == 2) & (rows["structure"] == "lv"), "volume_pred_ml"] = (
        math.nan
    )
    s1 = row_of(compute_subject_indices(rows), "s1")
    assert math.isnan(s1["edv_pred_ml"]) and s1["ef_status"] == "penalised_pred_undefined"
    assert s1["ed_frame_true"] == 0  # the reference is still scored


def test_truth_table_instead_of_masks() -> None:
    rows = make_rows()
    rows["volume_ref_ml"] = math.nan
    truth = pd.DataFrame({"subject": ["s1", "s2"], "edv_ml": [200.0, 100.0], "esv_ml": [100.0, 40.0]})
    table = compute_subject_indices(rows, truth_table=truth)
    s1 = row_of(table, "s1")
    assert s1["edv_true_ml"] == 200.0 and s1["ef_true_pct"] == 50.0 and math.isnan(s1["lv_mass_true_g"])
    assert s1["edv_pred_ml"] == 95.0 and pd.isna(s1["ed_frame_true"])
    with pytest.raises(ConfigError, match="frame_source"):
        compute_subject_indices(rows, ClinicalSettings(frame_source="reference"), truth_table=truth)
    with pytest.raises(InputDataError, match="no row for subject s2"):
        compute_subject_indices(rows, truth_table=truth.iloc[:1])


def test_structure_names_are_mapped() -> None:
    rows = make_rows()
    rows["structure"] = rows["structure"].map({"lv": "LV", "myo": "MYO", "rv": "RV"})
    table = compute_subject_indices(rows, structure_names={"LV": "lv", "MYO": "myo", "RV": "rv"})
    assert row_of(table, "s1")["lv_mass_true_g"] == pytest.approx(42.0)


def test_bad_volume_rows_are_input_errors() -> None:
    with pytest.raises(InputDataError, match="lack columns"):
        compute_subject_indices(make_rows().drop(columns=["phase"]))
    doubled = pd.concat([make_rows(), make_rows().iloc[:1]])
    with pytest.raises(InputDataError, match="repeated"):
        compute_subject_indices(doubled)
    two_ed = make_rows(phases={0: "ED", 1: "ED"})
    with pytest.raises(InputDataError, match="phase ED is labelled on frames"):
        compute_subject_indices(two_ed)
