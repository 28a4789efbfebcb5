"""Surface-distance metrics: HD, HD95, ASSD, MASD (mm, lower is better) and NSD (a fraction, higher is better).

Each convention (:mod:`harness.metrics.conventions`) computes the distances and reduces
them its own way; ``conventions`` says how, per convention. A distance with one empty mask
is the image diagonal (BraTS), see docs/metrics.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from harness.metrics.metric import DISTANCE_RULES, SIMILARITY_RULES, CaseMeasures, Metric

_VOXEL = "border voxels (mask XOR erosion with the face-connected cross), voxel-centre distances"


def _on_distances(reduce: Callable[[CaseMeasures], float]) -> Callable[[CaseMeasures], float]:
    """The reduction of the case's surface distances; NaN when there are none."""

    def formula(measures: CaseMeasures) -> float:
        return reduce(measures) if measures.distances is not None else math.nan

    return formula


def _hd(m: CaseMeasures) -> float:
    from harness.metrics.surface_metrics import compute_hd_mm

    assert m.distances is not None
    return compute_hd_mm(m.distances, m.convention)


def _hd95(m: CaseMeasures) -> float:
    from harness.metrics.surface_metrics import compute_hd_percentile_mm

    assert m.distances is not None
    return compute_hd_percentile_mm(m.distances, m.convention, 95.0)


def _assd(m: CaseMeasures) -> float:
    from harness.metrics.surface_metrics import compute_assd_mm

    assert m.distances is not None
    return compute_assd_mm(m.distances, m.convention)


def _masd(m: CaseMeasures) -> float:
    from harness.metrics.surface_metrics import compute_masd_mm

    assert m.distances is not None
    return compute_masd_mm(m.distances, m.convention)


def _nsd(m: CaseMeasures) -> float:
    from harness.metrics.surface_metrics import compute_nsd

    assert m.distances is not None
    return compute_nsd(m.distances, m.convention, m.nsd_tolerance_mm)


def _distance(
    name: str, definition: str, reduce: Callable[[CaseMeasures], float], conventions: dict[str, str]
) -> Metric:
    return Metric(name, "surface", "mm", False, definition, _on_distances(reduce), DISTANCE_RULES,
                  best=0.0, worst="diagonal", conventions=conventions)  # fmt: skip


METRICS: tuple[Metric, ...] = (
    _distance("hd_mm", "max of both directed surface distances", _hd, {
        "segarena": f"max directed distance between {_VOXEL}",
        "medpy": "medpy.metric.binary.hd (connectivity=1)",
        "monai": "monai.metrics.compute_hausdorff_distance",
        "deepmind": "surface_distance.compute_robust_hausdorff(percent=100) on surfels",
    }),
    _distance("hd95_mm", "95th percentile of the surface distances (pooling per convention)", _hd95, {
        "segarena": "max of the two directed 95th percentiles (linear interpolation), " + _VOXEL,
        "medpy": "medpy.metric.binary.hd95: 95th percentile of the pooled distances of both directions",
        "monai": "monai.metrics.compute_hausdorff_distance(percentile=95): max of the directed percentiles",
        "deepmind": "surface_distance.compute_robust_hausdorff(percent=95): area-weighted, max of directions",
    }),
    _distance("assd_mm", "mean of all surface distances of both directions, pooled", _assd, {
        "segarena": "mean of the pooled distances of both directions, " + _VOXEL,
        "medpy": "medpy.metric.binary.assd: mean of the pooled distances",
        "monai": "monai.metrics.compute_average_surface_distance(symmetric=True)",
        "deepmind": "area-weighted mean of the pooled surfel distances of both directions",
    }),
    _distance("masd_mm", "mean of the two directed mean surface distances", _masd, {
        "segarena": "mean of the two directed mean distances, " + _VOXEL,
        "medpy": "mean of medpy.metric.binary.asd in both directions",
        "monai": "mean of monai.metrics.compute_average_surface_distance(symmetric=False) in both directions",
        "deepmind": "mean of the two values of surface_distance.compute_average_surface_distance",
    }),
    Metric("nsd", "surface", "", True, "share of both surfaces within the tolerance of the other",
           _on_distances(_nsd), SIMILARITY_RULES, frozenset({"reference_empty", "prediction_empty"}),
           best=1.0, worst=0.0, conventions={
               "segarena": "share of border voxels of both masks within the tolerance of the other border",
               "medpy": "not in medpy: share of medpy border voxels within the tolerance (as MONAI)",
               "monai": "monai.metrics.compute_surface_dice (use_subvoxels=False)",
               "deepmind": "surface_distance.compute_surface_dice_at_tolerance",
           }),
)  # fmt: skip
