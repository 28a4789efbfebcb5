"""Volume metrics: reference and predicted volume (ml), their absolute and signed relative difference.

A volume is always defined (an empty mask is 0 ml); ``volume_rel_diff`` divides by the
reference volume, so it is undefined when the reference is empty.
"""

from __future__ import annotations

from harness.metrics.metric import ALL_EMPTY, CaseKind, CaseMeasures, Metric, Rule


def _volumes_ml(m: CaseMeasures) -> tuple[float, float]:
    from harness.metrics.overlap import compute_volume_ml

    return compute_volume_ml(m.counts.n_reference, m.spacing_mm), compute_volume_ml(m.counts.n_prediction, m.spacing_mm)


def _volume_ref(m: CaseMeasures) -> float:
    return _volumes_ml(m)[0]


def _volume_pred(m: CaseMeasures) -> float:
    return _volumes_ml(m)[1]


def _abs_diff(m: CaseMeasures) -> float:
    from harness.metrics.overlap import compute_volume_abs_diff_ml

    return compute_volume_abs_diff_ml(*_volumes_ml(m))


def _rel_diff(m: CaseMeasures) -> float:
    from harness.metrics.overlap import compute_volume_rel_diff

    return compute_volume_rel_diff(*_volumes_ml(m))


_COMPUTED: dict[CaseKind, Rule] = {"both_empty": "compute", "reference_empty": "compute", "prediction_empty": "compute"}

METRICS: tuple[Metric, ...] = (
    Metric("volume_ref_ml", "volume", "ml", None, "reference voxel count × voxel volume", _volume_ref,
           {**_COMPUTED, "missing_prediction": "compute"}, ALL_EMPTY | {"missing_prediction"}),
    Metric("volume_pred_ml", "volume", "ml", None, "predicted voxel count × voxel volume", _volume_pred,
           {**_COMPUTED, "missing_prediction": "exclude"}, ALL_EMPTY),
    Metric("volume_abs_diff_ml", "volume", "ml", False, "|V_pred − V_ref|", _abs_diff,
           {**_COMPUTED, "missing_prediction": "exclude"}, ALL_EMPTY, best=0.0),
    Metric("volume_rel_diff", "volume", "", None, "(V_pred − V_ref) / V_ref, signed (over-segmentation > 0)",
           _rel_diff, {"both_empty": "best", "reference_empty": "exclude", "prediction_empty": "compute",
                       "missing_prediction": "exclude"}, frozenset({"prediction_empty"}), best=0.0),
)  # fmt: skip
