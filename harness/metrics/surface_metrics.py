"""Surface metrics: HD, HD95, ASSD, MASD and NSD as reductions of one :class:`SurfaceDistances`.

Pure and cheap: the distances are computed once per structure by
:func:`harness.metrics.surface.compute_surface_distances` and shared. Empty masks:
when either mask is empty (no surface) the distance metrics return NaN
(undefined) and NSD returns 0 (one empty) or NaN (both empty); the empty-mask
policy decides what is reported.
"""

from __future__ import annotations

import math

import numpy as np

from harness.metrics.conventions import Convention
from harness.metrics.surface import SurfaceDistances


def _weighted_mean(distances: np.ndarray, weights: np.ndarray | None) -> float:
    if weights is None:
        return float(np.mean(distances))
    return float(np.sum(distances * weights) / np.sum(weights))


def _area_percentile(distances: np.ndarray, areas: np.ndarray, percent: float, is_sorted: bool) -> float:
    """DeepMind's robust percentile: the first distance (ascending) whose cumulative area share reaches ``percent``."""
    if not is_sorted:
        order = np.lexsort((areas, distances))  # by distance, then area, as surface_distance sorts
        distances, areas = distances[order], areas[order]
    cumulative = np.cumsum(areas) / np.sum(areas)
    index = int(np.searchsorted(cumulative, percent / 100.0))
    return float(distances[min(index, distances.size - 1)])


def _float32_percentile(distances: np.ndarray, percent: float) -> float:
    """Linear-interpolation percentile as ``torch.quantile`` computes it on float32 (MONAI).

    The quantile is rounded to float32, the rank computed in double, the weight rounded
    to float32 and the interpolation done in float32 (torch's two-sided ``lerp``).
    """
    ordered = np.sort(distances.astype(np.float32))
    rank = float(np.float32(percent / 100.0)) * (ordered.size - 1)
    below, above = math.floor(rank), math.ceil(rank)
    weight = np.float32(rank - below)
    low, high = ordered[below], ordered[above]
    if weight < 0.5:
        return float(np.float32(low + weight * (high - low)))
    return float(np.float32(high - (high - low) * (np.float32(1.0) - weight)))


def _percentile(distances: np.ndarray, percent: float, convention: Convention) -> float:
    if convention.float32:
        return _float32_percentile(distances, percent)
    return float(np.percentile(distances, percent))


def compute_hd_mm(distances: SurfaceDistances, convention: Convention) -> float:
    """Hausdorff distance: the largest directed surface distance (mm). Either mask empty: NaN.

    Under area weighting this is DeepMind's ``compute_robust_hausdorff(…, 100)``.
    """
    if not distances.has_both_surfaces:
        return math.nan
    if convention.weighting == "area":
        return compute_hd_percentile_mm(distances, convention, 100.0)
    return float(max(distances.ref_to_pred_mm.max(), distances.pred_to_ref_mm.max()))


def compute_hd_percentile_mm(distances: SurfaceDistances, convention: Convention, percent: float = 95.0) -> float:
    """Percentile Hausdorff distance (HD95 for 95), pooled or max of directed per convention. Either mask empty: NaN."""
    if not distances.has_both_surfaces:
        return math.nan
    forward, backward = distances.ref_to_pred_mm, distances.pred_to_ref_mm
    if convention.weighting == "area":
        assert distances.ref_weights is not None and distances.pred_weights is not None
        return max(
            _area_percentile(forward, distances.ref_weights, percent, distances.is_sorted),
            _area_percentile(backward, distances.pred_weights, percent, distances.is_sorted),
        )
    if convention.hd95_pooling == "pooled":
        return _percentile(np.concatenate([backward, forward]), percent, convention)
    return max(_percentile(forward, percent, convention), _percentile(backward, percent, convention))


def compute_assd_mm(distances: SurfaceDistances, convention: Convention) -> float:
    """Average symmetric surface distance: mean of the pooled distances of both directions. Either mask empty: NaN."""
    if not distances.has_both_surfaces:
        return math.nan
    pooled = np.concatenate([distances.pred_to_ref_mm, distances.ref_to_pred_mm])
    if convention.weighting == "count":
        return float(np.mean(pooled))
    assert distances.ref_weights is not None and distances.pred_weights is not None
    weights = np.concatenate([distances.pred_weights, distances.ref_weights])
    return _weighted_mean(pooled, weights)


def compute_masd_mm(distances: SurfaceDistances, convention: Convention) -> float:
    """Mean average surface distance: mean of the two directed mean distances. Either mask empty: NaN."""
    if not distances.has_both_surfaces:
        return math.nan
    forward = _weighted_mean(distances.ref_to_pred_mm, distances.ref_weights)
    backward = _weighted_mean(distances.pred_to_ref_mm, distances.pred_weights)
    return 0.5 * (forward + backward)


def compute_nsd(distances: SurfaceDistances, convention: Convention, tolerance_mm: float) -> float:
    """Normalised surface Dice: share of both surfaces within ``tolerance_mm`` of the other surface.

    Count- or area-weighted per convention. One mask empty: 0. Both empty: NaN (undefined).
    """
    forward, backward = distances.ref_to_pred_mm, distances.pred_to_ref_mm
    if forward.size + backward.size == 0:
        return math.nan
    tolerance = float(np.float32(tolerance_mm)) if convention.float32 else tolerance_mm
    if convention.weighting == "count":
        within = int(np.count_nonzero(forward <= tolerance)) + int(np.count_nonzero(backward <= tolerance))
        return within / (forward.size + backward.size)
    assert distances.ref_weights is not None and distances.pred_weights is not None
    within_area = np.sum(distances.ref_weights[forward <= tolerance]) + np.sum(
        distances.pred_weights[backward <= tolerance]
    )
    return float(within_area / (np.sum(distances.ref_weights) + np.sum(distances.pred_weights)))
