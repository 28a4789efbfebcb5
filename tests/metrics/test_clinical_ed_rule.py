"""The ED rule (issue 12): ukbb_cardiac's ED = frame 0 (ES = the smallest LV), for every curve or per method."""

from __future__ import annotations

import math

import pytest

from harness.errors import InputDataError
from harness.metrics.clinical import CineCurve, ClinicalSettings, compute_subject_indices, select_phase_frames
from tests.metrics.test_clinical_subjects import make_rows, row_of

# frame 0 is not the largest LV volume (frame 1 is): the two rules disagree on ED
CURVE = CineCurve(frames=(0, 1, 2, 3), lv_ml=(90.0, 95.0, 60.0, 40.0))


def test_first_frame_rule_takes_frame_0_as_ed_and_the_smallest_lv_as_es() -> None:
    assert select_phase_frames(CURVE) == select_phase_frames(CURVE, ed_rule="largest_lv")
    assert (select_phase_frames(CURVE).ed_frame, select_phase_frames(CURVE).es_frame) == (1, 3)
    first = select_phase_frames(CURVE, ed_rule="first_frame")
    assert (first.ed_frame, first.es_frame, first.rule) == (0, 3, "first_frame")
    # a phase label still wins over the rule; frames are taken in frame order, not row order
    assert select_phase_frames(CURVE, ed_label=2, ed_rule="first_frame").ed_frame == 2
    shuffled = CineCurve(frames=(3, 1, 0, 2), lv_ml=(40.0, 95.0, 90.0, 60.0))
    assert select_phase_frames(shuffled, ed_rule="first_frame").ed_frame == 0


def test_first_frame_rule_still_needs_a_complete_curve_for_es() -> None:
    with pytest.raises(InputDataError, match="NaN"):
        select_phase_frames(CineCurve(frames=(0, 1, 2), lv_ml=(90.0, math.nan, 40.0)), ed_rule="first_frame")


def test_ed_rule_method_applies_the_cards_rule_to_predictions_only() -> None:
    rows = make_rows()
    default = row_of(compute_subject_indices(rows), "s1")
    assert (default["ed_frame_pred"], default["edv_pred_ml"]) == (1, 95)
    everywhere = row_of(compute_subject_indices(rows, ClinicalSettings(ed_rule="first_frame")), "s1")
    assert (everywhere["ed_frame_pred"], everywhere["edv_pred_ml"], everywhere["ed_frame_true"]) == (0, 90, 0)
    per_method = ClinicalSettings(ed_rule="method").model_copy(update={"method_ed_rule": "first_frame"})
    s1 = row_of(compute_subject_indices(rows, per_method), "s1")
    assert (s1["ed_frame_pred"], s1["es_frame_pred"], s1["edv_pred_ml"]) == (0, 3, 90)
    assert (s1["ed_frame_true"], s1["es_frame_true"]) == (0, 2)  # the reference keeps the largest LV (frame 0)
    assert s1["frame_rule"] == "extrema/first_frame"
    # a method whose card has no rule of its own keeps the default
    plain = row_of(compute_subject_indices(rows, ClinicalSettings(ed_rule="method")), "s1")
    assert plain["ed_frame_pred"] == 1
    assert "method_ed_rule" not in ClinicalSettings(ed_rule="method").model_dump()  # not part of a job's key
