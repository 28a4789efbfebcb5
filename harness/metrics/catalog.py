"""The metric catalogue: every metric name the evaluator knows, its unit and its direction.

A name is what a :class:`~harness.metrics.MetricRow` carries in ``metric`` and
what ``metrics.names`` in benchmark.yaml selects. Units are in the names
(``_mm``, ``_ml``); names without a unit are fractions in [0, 1] (or, for
``volume_rel_diff``, a signed fraction of the reference volume).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.errors import UnknownNameError
from harness.registry import Registry

MetricKind = Literal["overlap", "surface", "volume"]


@dataclass(frozen=True)
class MetricInfo:
    """What a report needs to print and rank one metric."""

    name: str
    kind: MetricKind
    unit: str  # "" for fractions
    higher_is_better: bool | None  # None: not a score (a volume)
    definition: str  # one line, convention-independent


_INFOS: tuple[MetricInfo, ...] = (
    MetricInfo("dice", "overlap", "", True, "2|R∩P| / (|R| + |P|)"),
    MetricInfo("iou", "overlap", "", True, "|R∩P| / |R∪P|"),
    MetricInfo("precision", "overlap", "", True, "|R∩P| / |P|"),
    MetricInfo("recall", "overlap", "", True, "|R∩P| / |R|"),
    MetricInfo("specificity", "overlap", "", True, "|¬R∩¬P| / |¬R|"),
    MetricInfo("hd_mm", "surface", "mm", False, "max of both directed surface distances"),
    MetricInfo("hd95_mm", "surface", "mm", False, "95th percentile of the surface distances (pooling per convention)"),
    MetricInfo("assd_mm", "surface", "mm", False, "mean of all surface distances of both directions, pooled"),
    MetricInfo("masd_mm", "surface", "mm", False, "mean of the two directed mean surface distances"),
    MetricInfo("nsd", "surface", "", True, "share of both surfaces within the tolerance of the other"),
    MetricInfo("volume_ref_ml", "volume", "ml", None, "reference voxel count × voxel volume"),
    MetricInfo("volume_pred_ml", "volume", "ml", None, "predicted voxel count × voxel volume"),
    MetricInfo("volume_abs_diff_ml", "volume", "ml", False, "|V_pred − V_ref|"),
    MetricInfo("volume_rel_diff", "volume", "", None, "(V_pred − V_ref) / V_ref, signed (over-segmentation > 0)"),
)

METRIC_INFO: dict[str, MetricInfo] = {info.name: info for info in _INFOS}
METRIC_NAMES: tuple[str, ...] = tuple(METRIC_INFO)
SURFACE_METRICS: frozenset[str] = frozenset(n for n, i in METRIC_INFO.items() if i.kind == "surface")


#: The metric names as a registry (did-you-mean, ``segarena list``), in catalogue order.
METRICS: Registry[MetricInfo] = Registry("metric", listing="Valid metrics", ordered=True)
for _info in _INFOS:
    METRICS.add(_info.name, _info, description=_info.definition)


def unknown_metric_message(name: str) -> str:
    """The "did you mean" message for an unknown metric name."""
    return METRICS.unknown_message(name)


def check_metric_name(name: str) -> str:
    """Return ``name`` if it is a known metric, else raise :class:`UnknownNameError` listing the valid ones."""
    if name not in METRICS:
        raise UnknownNameError(unknown_metric_message(name))
    return name
