"""Overlap and volume metrics: pure functions on masks (via their confusion counts) and spacing.

Every function returns the plain formula. Where the formula divides by zero
(an empty mask) it returns NaN, "undefined", as each docstring says; the
empty-mask policy (:mod:`harness.metrics.policy`) decides what a report shows
instead. None of them reads files.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ConfusionCounts:
    """Voxel counts of one binary reference / prediction pair."""

    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def n_reference(self) -> int:
        return self.tp + self.fn

    @property
    def n_prediction(self) -> int:
        return self.tp + self.fp


def count_confusion(reference: np.ndarray, prediction: np.ndarray, n_voxels: int | None = None) -> ConfusionCounts:
    """TP, FP, FN, TN of two boolean masks of the same shape.

    ``n_voxels`` is the size of the whole image when the masks are a crop that holds
    every foreground voxel of both (the voxels outside the crop are true negatives).
    """
    if reference.shape != prediction.shape:
        raise ValueError(f"masks differ in shape: {reference.shape} and {prediction.shape}")
    reference = reference.astype(bool, copy=False)
    prediction = prediction.astype(bool, copy=False)
    tp = int(np.count_nonzero(reference & prediction))
    n_reference = int(np.count_nonzero(reference))
    n_prediction = int(np.count_nonzero(prediction))
    total = reference.size if n_voxels is None else n_voxels
    fn, fp = n_reference - tp, n_prediction - tp
    return ConfusionCounts(tp=tp, fp=fp, fn=fn, tn=total - tp - fp - fn)


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator else math.nan


def compute_dice(counts: ConfusionCounts) -> float:
    """Dice = 2TP / (2TP + FP + FN). Both masks empty: NaN (undefined). One mask empty: 0."""
    return _ratio(2 * counts.tp, 2 * counts.tp + counts.fp + counts.fn)


def compute_iou(counts: ConfusionCounts) -> float:
    """IoU (Jaccard) = TP / (TP + FP + FN). Both masks empty: NaN (undefined). One mask empty: 0."""
    return _ratio(counts.tp, counts.tp + counts.fp + counts.fn)


def compute_precision(counts: ConfusionCounts) -> float:
    """Precision = TP / (TP + FP). Empty prediction (either reference): NaN (undefined). Empty reference only: 0."""
    return _ratio(counts.tp, counts.tp + counts.fp)


def compute_recall(counts: ConfusionCounts) -> float:
    """Recall (sensitivity) = TP / (TP + FN). Empty reference (either prediction): NaN. Empty prediction only: 0."""
    return _ratio(counts.tp, counts.tp + counts.fn)


def compute_specificity(counts: ConfusionCounts) -> float:
    """Specificity = TN / (TN + FP). Defined for empty masks (1 when the prediction is empty);
    NaN only when the reference fills the whole image."""
    return _ratio(counts.tn, counts.tn + counts.fp)


def compute_pixel_accuracy(counts: ConfusionCounts) -> float:
    """Pixel accuracy = (TP + TN) / (TP + FP + FN + TN): the share of all voxels of the image labelled right.

    Defined for empty masks (both empty: 1; one empty: the share of voxels outside the other mask),
    so a prediction that finds nothing of a small structure still scores near 1 (the class-imbalance
    trap of the DIGITS Sunnybrook tutorial: 98 % accuracy, Dice 0). NaN only for an image of no voxels.
    """
    return _ratio(counts.tp + counts.tn, counts.tp + counts.fp + counts.fn + counts.tn)


def compute_voxel_volume_ml(spacing_mm: Sequence[float]) -> float:
    """Volume of one voxel in ml (mm³ / 1000); a 2D pixel is taken as 1 mm thick."""
    return math.prod(float(s) for s in spacing_mm) / 1000.0


def compute_volume_ml(n_voxels: int, spacing_mm: Sequence[float]) -> float:
    """Volume in ml of ``n_voxels`` voxels. An empty mask has volume 0."""
    return n_voxels * compute_voxel_volume_ml(spacing_mm)


def compute_volume_abs_diff_ml(volume_ref_ml: float, volume_pred_ml: float) -> float:
    """|V_pred − V_ref| in ml. Defined for empty masks (0 when both are empty)."""
    return abs(volume_pred_ml - volume_ref_ml)


def compute_volume_rel_diff(volume_ref_ml: float, volume_pred_ml: float) -> float:
    """(V_pred − V_ref) / V_ref, signed (over-segmentation > 0), as medpy's ``ravd``.

    Empty reference: NaN (undefined). Empty prediction, reference not: −1.
    """
    return _ratio(volume_pred_ml - volume_ref_ml, volume_ref_ml)
