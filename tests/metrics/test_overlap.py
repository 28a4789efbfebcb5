"""Overlap and volume formulas on tiny hand-computed masks, and their raw empty-mask rules."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.metrics import overlap


def _counts(reference: list[int], prediction: list[int]) -> overlap.ConfusionCounts:
    return overlap.count_confusion(np.array(reference, dtype=bool), np.array(prediction, dtype=bool))


def test_counts_and_scores_by_hand() -> None:
    counts = _counts([1, 1, 1, 0, 0, 0, 0, 0], [0, 1, 1, 1, 1, 0, 0, 0])  # TP 2, FP 2, FN 1, TN 3
    assert counts == overlap.ConfusionCounts(tp=2, fp=2, fn=1, tn=3)
    assert overlap.compute_dice(counts) == pytest.approx(4 / 7)
    assert overlap.compute_iou(counts) == pytest.approx(2 / 5)
    assert overlap.compute_precision(counts) == pytest.approx(2 / 4)
    assert overlap.compute_recall(counts) == pytest.approx(2 / 3)
    assert overlap.compute_specificity(counts) == pytest.approx(3 / 5)
    assert overlap.compute_pixel_accuracy(counts) == pytest.approx(5 / 8)  # TP 2 + TN 3 of 8


def test_pixel_accuracy_of_an_empty_prediction_is_the_background_share() -> None:
    """The DIGITS tutorial's lesson: a 2 % structure, nothing found: accuracy 0.98, Dice 0."""
    reference = np.zeros((10, 10), dtype=bool)
    reference[4:6, 4:5] = True  # 2 of 100 pixels
    counts = overlap.count_confusion(reference, np.zeros_like(reference))
    assert overlap.compute_pixel_accuracy(counts) == pytest.approx(0.98)
    assert overlap.compute_dice(counts) == 0.0
    assert overlap.compute_pixel_accuracy(_counts([0, 0, 0], [0, 0, 0])) == 1.0
    assert overlap.compute_pixel_accuracy(_counts([0, 0, 0, 0], [1, 0, 0, 0])) == pytest.approx(3 / 4)
    assert math.isnan(overlap.compute_pixel_accuracy(overlap.ConfusionCounts(0, 0, 0, 0)))


def test_counts_in_a_crop_add_the_true_negatives_outside() -> None:
    counts = overlap.count_confusion(np.array([1, 0], bool), np.array([1, 1], bool), n_voxels=10)
    assert counts == overlap.ConfusionCounts(tp=1, fp=1, fn=0, tn=8)


def test_both_empty_is_undefined_for_ratios() -> None:
    counts = _counts([0, 0, 0], [0, 0, 0])
    for compute in (overlap.compute_dice, overlap.compute_iou, overlap.compute_precision, overlap.compute_recall):
        assert math.isnan(compute(counts))
    assert overlap.compute_specificity(counts) == 1.0


def test_reference_empty() -> None:
    counts = _counts([0, 0, 0], [1, 0, 0])
    assert overlap.compute_dice(counts) == 0.0
    assert overlap.compute_iou(counts) == 0.0
    assert overlap.compute_precision(counts) == 0.0
    assert math.isnan(overlap.compute_recall(counts))
    assert overlap.compute_specificity(counts) == pytest.approx(2 / 3)


def test_prediction_empty() -> None:
    counts = _counts([1, 1, 0], [0, 0, 0])
    assert overlap.compute_dice(counts) == 0.0
    assert math.isnan(overlap.compute_precision(counts))
    assert overlap.compute_recall(counts) == 0.0
    assert overlap.compute_specificity(counts) == 1.0


def test_specificity_undefined_when_reference_fills_the_image() -> None:
    assert math.isnan(overlap.compute_specificity(_counts([1, 1], [1, 0])))


def test_volumes_in_ml() -> None:
    assert overlap.compute_voxel_volume_ml((10.0, 1.25, 1.25)) == pytest.approx(0.015625)
    assert overlap.compute_volume_ml(64, (10.0, 1.25, 1.25)) == pytest.approx(1.0)
    assert overlap.compute_volume_ml(0, (2.0, 2.0)) == 0.0
    assert overlap.compute_volume_ml(250, (2.0, 2.0)) == pytest.approx(1.0)  # 2D: 1 mm thick
    assert overlap.compute_volume_abs_diff_ml(3.0, 2.5) == 0.5
    assert overlap.compute_volume_rel_diff(2.0, 3.0) == pytest.approx(0.5)  # over-segmentation > 0
    assert overlap.compute_volume_rel_diff(2.0, 0.0) == -1.0
    assert math.isnan(overlap.compute_volume_rel_diff(0.0, 3.0))


def test_pixel_accuracy_matches_an_independent_count_on_a_label_map() -> None:
    """Per structure of a multi-label map, through the evaluator: equal to numpy's share of equal binary pixels."""
    from harness.metrics import evaluate_case

    rng = np.random.default_rng(12)
    reference = rng.integers(0, 3, size=(5, 17, 23)).astype(np.uint8)
    prediction = np.where(rng.random(reference.shape) < 0.3, rng.integers(0, 3, size=reference.shape),
                          reference).astype(np.uint8)
    rows = evaluate_case(reference, prediction, (2.0, 1.0, 1.0), {"A": [1], "B": [2], "AB": [1, 2]})
    got = {r.label: r.value for r in rows if r.metric == "pixel_accuracy"}
    for structure, labels in {"A": [1], "B": [2], "AB": [1, 2]}.items():
        expected = np.mean(np.isin(reference, labels) == np.isin(prediction, labels))
        assert got[structure] == pytest.approx(float(expected), abs=1e-12)
