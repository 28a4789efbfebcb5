"""Per-subject cine indices on hand-computed curves: ED/ES choice, EF, LV mass, undefined-EF rules."""

from __future__ import annotations

import math

import pytest
from pydantic import ValidationError

from harness.errors import InputDataError
from harness.metrics.clinical import (
    CineCurve,
    ClinicalSettings,
    PhaseFrames,
    compute_cine_indices,
    compute_ef_error,
    compute_ejection_fraction,
    compute_indices_from_volumes,
    select_phase_frames,
)


def test_extrema_pick_ed_max_es_min_first_frame_on_ties() -> None:
    curve = CineCurve(frames=(0, 1, 2, 3, 4), lv_ml=(100.0, 120.0, 120.0, 60.0, 60.0))
    assert select_phase_frames(curve) == PhaseFrames(ed_frame=1, es_frame=3, rule="extrema")


def test_extrema_follow_frame_order_not_row_order() -> None:
    curve = CineCurve(frames=(4, 2, 0), lv_ml=(50.0, 90.0, 90.0))  # tie at frames 2 and 0: frame 0 comes first
    assert select_phase_frames(curve) == PhaseFrames(ed_frame=0, es_frame=4, rule="extrema")


def test_phase_labels_override_extrema() -> None:
    curve = CineCurve(frames=(0, 1, 2, 3), lv_ml=(100.0, 80.0, 50.0, 90.0))
    assert select_phase_frames(curve, ed_label=3, es_label=1) == PhaseFrames(3, 1, "labels")
    assert select_phase_frames(curve, ed_label=3) == PhaseFrames(3, 2, "mixed")


def test_label_outside_curve_and_nan_curve_are_input_errors() -> None:
    curve = CineCurve(frames=(0, 1), lv_ml=(100.0, math.nan))
    with pytest.raises(InputDataError, match="frame 7"):
        select_phase_frames(curve, ed_label=7)
    with pytest.raises(InputDataError, match="NaN"):
        select_phase_frames(curve)
    assert select_phase_frames(curve, ed_label=0, es_label=1).rule == "labels"


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"frames": (), "lv_ml": ()}, "no frames"),
        ({"frames": (0, 0), "lv_ml": (1.0, 2.0)}, "repeated"),
        ({"frames": (0, 1), "lv_ml": (1.0,)}, "1 values for 2 frames"),
        ({"frames": (0,), "lv_ml": (-1.0,)}, "negative"),
    ],
)
def test_bad_curves_are_rejected(kwargs: dict[str, tuple[float, ...]], match: str) -> None:
    with pytest.raises(InputDataError, match=match):
        CineCurve(**kwargs)  # type: ignore[arg-type]


def test_indices_lv_mass_and_rv_at_lv_frames() -> None:
    curve = CineCurve(
        frames=(0, 1, 2, 3),
        lv_ml=(100.0, 80.0, 50.0, 90.0),
        myo_ml=(40.0, 41.0, 42.0, 43.0),
        rv_ml=(120.0, 110.0, 70.0, 100.0),
    )
    indices = compute_cine_indices(curve, select_phase_frames(curve))
    assert (indices.edv_ml, indices.esv_ml, indices.sv_ml) == (100.0, 50.0, 50.0)
    assert indices.ef_pct == pytest.approx(50.0)
    assert indices.lv_mass_g == pytest.approx(40.0 * 1.05)  # myocardium at ED × 1.05 g/ml
    assert (indices.rv_edv_ml, indices.rv_esv_ml, indices.rv_sv_ml) == (120.0, 70.0, 50.0)
    assert indices.rv_ef_pct == pytest.approx(100 * 50 / 120)


def test_indices_without_myocardium_or_rv_are_nan() -> None:
    curve = CineCurve(frames=(0, 1), lv_ml=(10.0, 5.0))
    indices = compute_cine_indices(curve, select_phase_frames(curve))
    assert math.isnan(indices.lv_mass_g) and math.isnan(indices.rv_edv_ml) and indices.rv_ef_pct is None


def test_ef_is_undefined_when_edv_is_zero() -> None:
    assert compute_ejection_fraction(0.0, 0.0) is None
    assert compute_ejection_fraction(math.nan, 1.0) is None
    assert compute_ejection_fraction(200.0, 50.0) == 0.75
    assert compute_indices_from_volumes(0.0, 0.0).ef_pct is None


def test_ef_error_rules() -> None:
    penalty, exclude = ClinicalSettings(), ClinicalSettings(ef_undefined="exclude")
    ok = compute_ef_error(60.0, 55.0, penalty)
    assert (ok.error_pct, ok.abs_error_pct, ok.status) == (5.0, 5.0, "ok")  # true − predicted
    assert compute_ef_error(55.0, 60.0, penalty).error_pct == -5.0
    penalised = compute_ef_error(60.0, None, penalty)
    assert penalised.abs_error_pct == 100.0 and penalised.status == "penalised_pred_undefined"
    assert math.isnan(penalised.error_pct)
    assert compute_ef_error(60.0, None, ClinicalSettings(ef_penalty_pct=50)).abs_error_pct == 50.0
    excluded = compute_ef_error(60.0, None, exclude)
    assert math.isnan(excluded.abs_error_pct) and excluded.status == "excluded_pred_undefined"
    no_truth = compute_ef_error(None, 50.0, penalty)
    assert math.isnan(no_truth.abs_error_pct) and no_truth.status == "excluded_true_undefined"


def test_settings_defaults_and_unknown_fields() -> None:
    settings = ClinicalSettings()
    assert settings.frame_source == "own" and settings.ef_undefined == "penalty"
    assert settings.ef_penalty_pct == 100.0 and settings.myocardial_density_g_per_ml == 1.05
    with pytest.raises(ValidationError):
        ClinicalSettings(ef_undefind="exclude")  # type: ignore[call-arg]
    with pytest.raises(ValidationError):
        ClinicalSettings(frame_source="truth")  # type: ignore[arg-type]
