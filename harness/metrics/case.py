"""Score one case: every selected metric for every structure, as :class:`MetricRow` s.

A structure is a name and the label values that make it up: ``{"LV": [1]}`` or a
region ``{"WT": [1, 2, 3]}``. Per structure the work is confined to the bounding
box of the reference and predicted structure (found for all labels at once with
one pass over each label map), and the surface distances are computed once and
shared by every surface metric.

Statuses (the set is closed; see docs/metrics.md):

* ``ok``: both masks non-empty, value from the formula;
* ``both_empty``, ``reference_empty``, ``prediction_empty``: the empty-mask
  policy's rule for that case gave the value (NaN when the rule is ``exclude``);
* ``missing_prediction``: there is no prediction; the policy's
  ``missing_prediction`` rule gave the value (a failure, never a reward);
* ``invalid_prediction``: as ``missing_prediction``, for a prediction file that
  exists but cannot be used (truncated, unreadable, not stored as integers, NaN,
  other geometry; set by :mod:`harness.evaluation.case`, which also uses it for
  predictions failing the method contract's checks);
* ``reference_unreadable``: the reference file of the case cannot be used. Not the
  method's fault: every value is NaN, so the case is in no ranking, but its rows stay;
* ``undefined``: both masks non-empty but the formula divides by zero
  (specificity when the reference fills the whole image); the value is NaN.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from harness.errors import ConfigError, InputDataError
from harness.metrics import overlap
from harness.metrics.catalog import get_metric, load_metric_modules
from harness.metrics.conventions import Convention, get_convention
from harness.metrics.metric import CaseKind, CaseMeasures, Metric, Rule
from harness.metrics.policy import apply_rule, resolve_policy
from harness.metrics.settings import MetricsSettings
from harness.metrics.surface import SurfaceDistances, compute_surface_distances_padded

STATUSES: tuple[str, ...] = (
    "ok", "both_empty", "reference_empty", "prediction_empty", "missing_prediction", "invalid_prediction",
    "reference_unreadable", "undefined",
)  # fmt: skip
FAILURE_STATUSES: tuple[str, ...] = ("missing_prediction", "invalid_prediction")  # the method's failures


@dataclass(frozen=True)
class MetricRow:
    """One metric of one structure of one case. ``value`` is NaN only when ``status`` says why.

    ``reason`` says what was wrong with a file for the statuses ``invalid_prediction`` and
    ``reference_unreadable``: ``<problem>: <message naming the file>`` (problems: see
    :data:`harness.common.integrity.FILE_PROBLEMS`); it is empty otherwise.
    """

    label: str
    metric: str
    value: float
    status: str
    reason: str = ""


Box = tuple[slice, ...]


def _as_label_map(array: np.ndarray, role: str) -> np.ndarray:
    array = np.asarray(array)
    if array.ndim not in (2, 3):
        raise InputDataError(f"{role} label map must be 2D or 3D, got shape {array.shape}")
    if array.dtype == bool:
        return array.view(np.uint8)
    if np.issubdtype(array.dtype, np.integer):
        return array
    if np.issubdtype(array.dtype, np.floating) and np.array_equal(array, np.round(array)):
        return array.astype(np.int64)
    raise InputDataError(f"{role} label map holds non-integer values (dtype {array.dtype}); expected integer labels")


def _check_structures(structures: Mapping[str, Sequence[int]]) -> dict[str, tuple[int, ...]]:
    if not structures:
        raise ConfigError("no structures to evaluate: give at least one label or region, e.g. LV=1")
    checked: dict[str, tuple[int, ...]] = {}
    for name, values in structures.items():
        labels = tuple(int(v) for v in values)
        if not labels or any(v <= 0 for v in labels):
            raise ConfigError(f"structure {name!r} has label values {list(values)}; expected one or more labels >= 1")
        checked[name] = labels
    return checked


def _check_spacing(spacing_mm: Sequence[float], ndim: int) -> tuple[float, ...]:
    spacing = tuple(float(s) for s in spacing_mm)
    if len(spacing) != ndim or not all(math.isfinite(s) and s > 0 for s in spacing):
        raise InputDataError(f"spacing_mm {spacing} must hold {ndim} positive values, one per array axis")
    return spacing


def _union_box(boxes: Sequence[Box | None]) -> Box | None:
    present = [b for b in boxes if b is not None]
    if not present:
        return None
    return tuple(
        slice(min(b[i].start for b in present), max(b[i].stop for b in present)) for i in range(len(present[0]))
    )


def foreground_box(labels: np.ndarray) -> Box | None:
    """The bounding box of all non-zero voxels, from cheap axis reductions; None if there are none."""
    along_first = labels.reshape(labels.shape[0], -1).any(axis=1)
    if not along_first.any():
        return None
    first = np.flatnonzero(along_first)
    box = [slice(int(first[0]), int(first[-1]) + 1)]
    rest = labels[box[0]].any(axis=0)  # the projection onto the remaining axes
    for axis in range(rest.ndim):
        other = tuple(a for a in range(rest.ndim) if a != axis)
        hits = np.flatnonzero(np.any(rest, axis=other) if other else rest)
        box.append(slice(int(hits[0]), int(hits[-1]) + 1))
    return tuple(box)


def find_label_boxes(labels: np.ndarray, max_label: int) -> list[Box | None]:
    """Bounding box of each label value 1 … ``max_label`` (None where absent); two fast passes over the map."""
    outer = foreground_box(labels)
    if outer is None:
        return [None] * max_label
    boxes = ndimage.find_objects(labels[outer], max_label=max_label)
    return [
        None
        if box is None
        else tuple(slice(b.start + o.start, b.stop + o.start) for b, o in zip(box, outer, strict=True))
        for box in boxes
    ]


def _mask(labels: np.ndarray, values: tuple[int, ...]) -> np.ndarray:
    return labels == values[0] if len(values) == 1 else np.isin(labels, values)


def _case_kind(counts: overlap.ConfusionCounts) -> CaseKind | None:
    if counts.n_reference == 0:
        return "both_empty" if counts.n_prediction == 0 else "reference_empty"
    return "prediction_empty" if counts.n_prediction == 0 else None


def _measures(
    counts: overlap.ConfusionCounts,
    distances: SurfaceDistances | None,
    spacing: tuple[float, ...],
    convention: Convention,
    settings: MetricsSettings,
) -> CaseMeasures:
    return CaseMeasures(counts, distances, spacing, convention, settings.nsd_tolerance_mm)


def selected_metrics(settings: MetricsSettings) -> list[Metric]:
    """The metric objects of ``settings.names``, in order (outside modules of ``settings.extra`` imported first).

    The import matters in a worker process started by ``spawn``, which has not read benchmark.yaml.
    """
    load_metric_modules(settings.extra)
    return [get_metric(name) for name in settings.names]


def compute_image_diagonal_mm(shape: Sequence[int], spacing_mm: Sequence[float]) -> float:
    """Length of the image's diagonal in mm (extent = size × spacing per axis): the worst-case distance."""
    return math.sqrt(sum((n * s) ** 2 for n, s in zip(shape, spacing_mm, strict=True)))


def _rows_for_kind(
    name: str,
    kind: CaseKind,
    measures: CaseMeasures,
    metrics: Sequence[Metric],
    table: Mapping[str, Mapping[CaseKind, Rule]],
    diagonal_mm: float,
    status: str | None = None,
    reason: str = "",
) -> list[MetricRow]:
    rows = []
    for metric in metrics:
        rule = table[metric.name][kind]
        computed = metric.formula(measures) if rule == "compute" else math.nan
        value = apply_rule(metric.name, kind, rule, computed, diagonal_mm)
        rows.append(MetricRow(label=name, metric=metric.name, value=value, status=status or kind, reason=reason))
    return rows


def score_missing_prediction(
    reference: np.ndarray,
    spacing_mm: Sequence[float],
    structures: Mapping[str, Sequence[int]],
    settings: MetricsSettings | None = None,
    status: str = "missing_prediction",
    reason: str = "",
) -> list[MetricRow]:
    """Rows for a case without a usable prediction: each metric gets its ``missing_prediction`` rule, never dropped.

    ``status`` is ``missing_prediction`` or ``invalid_prediction``; ``reason`` says what was wrong with the file.
    """
    settings = settings or MetricsSettings()
    reference = _as_label_map(reference, "reference")
    spacing = _check_spacing(spacing_mm, reference.ndim)
    metrics = selected_metrics(settings)
    table = resolve_policy(settings.empty_policy, settings.names)
    diagonal = compute_image_diagonal_mm(reference.shape, spacing)
    convention = get_convention(settings.convention)
    rows: list[MetricRow] = []
    for name, values in _check_structures(structures).items():
        n_reference = int(np.count_nonzero(_mask(reference, values)))
        counts = overlap.ConfusionCounts(tp=0, fp=0, fn=n_reference, tn=reference.size - n_reference)
        measures = _measures(counts, None, spacing, convention, settings)
        rows += _rows_for_kind(name, "missing_prediction", measures, metrics, table, diagonal, status, reason)
    return rows


def score_unreadable_reference(
    structures: Mapping[str, Sequence[int]], settings: MetricsSettings | None = None, reason: str = ""
) -> list[MetricRow]:
    """Rows for a case whose reference cannot be used: status ``reference_unreadable``, every value NaN.

    Not the method's failure, so it is worth nothing either way (NaN keeps it out of every
    mean and ranking), but the rows stay so that the report shows the case.
    """
    settings = settings or MetricsSettings()
    load_metric_modules(settings.extra)
    return [
        MetricRow(label=name, metric=metric, value=math.nan, status="reference_unreadable", reason=reason)
        for name in _check_structures(structures)
        for metric in settings.names
    ]


def evaluate_case(
    reference: np.ndarray,
    prediction: np.ndarray | None,
    spacing_mm: Sequence[float],
    structures: Mapping[str, Sequence[int]],
    settings: MetricsSettings | None = None,
) -> list[MetricRow]:
    """Every metric in ``settings.names`` for every structure, in that order (structures outer).

    ``reference`` and ``prediction`` are integer label maps of the same 2D or 3D shape in
    SimpleITK array order; ``spacing_mm`` is in the same axis order. ``prediction=None``
    (missing or unreadable) scores every metric by its ``missing_prediction`` rule.
    Empty masks follow the empty-mask policy of ``settings`` (see the module docstring
    for the statuses). Raises :class:`InputDataError` for mismatched shapes or
    non-integer labels and :class:`ConfigError` for bad structures.
    """
    settings = settings or MetricsSettings()
    if prediction is None:
        return score_missing_prediction(reference, spacing_mm, structures, settings)
    reference = _as_label_map(reference, "reference")
    prediction = _as_label_map(prediction, "prediction")
    if reference.shape != prediction.shape:
        raise InputDataError(f"reference shape {reference.shape} and prediction shape {prediction.shape} differ")
    spacing = _check_spacing(spacing_mm, reference.ndim)
    checked = _check_structures(structures)
    metrics = selected_metrics(settings)
    table = resolve_policy(settings.empty_policy, settings.names)
    convention = get_convention(settings.convention)
    diagonal = compute_image_diagonal_mm(reference.shape, spacing)
    surface_metrics = [m.name for m in metrics if m.uses_surface_distances]

    max_label = max(v for values in checked.values() for v in values)
    ref_boxes = find_label_boxes(reference, max_label)
    pred_boxes = find_label_boxes(prediction, max_label)
    rows: list[MetricRow] = []
    for name, values in checked.items():
        box = _union_box([ref_boxes[v - 1] for v in values] + [pred_boxes[v - 1] for v in values])
        if box is None:
            counts = overlap.ConfusionCounts(tp=0, fp=0, fn=0, tn=reference.size)
            measures = _measures(counts, None, spacing, convention, settings)
            rows += _rows_for_kind(name, "both_empty", measures, metrics, table, diagonal)
            continue
        ref_mask = np.pad(_mask(reference[box], values), 1)  # a background margin: see harness.metrics.surface
        pred_mask = np.pad(_mask(prediction[box], values), 1)
        counts = overlap.count_confusion(ref_mask, pred_mask, n_voxels=reference.size)
        kind = _case_kind(counts)
        needs_distances = bool(surface_metrics) and (
            kind is None or any(table[m][kind] == "compute" for m in surface_metrics)
        )
        distances = (
            compute_surface_distances_padded(ref_mask, pred_mask, spacing, convention) if needs_distances else None
        )
        measures = _measures(counts, distances, spacing, convention, settings)
        if kind is not None:
            rows += _rows_for_kind(name, kind, measures, metrics, table, diagonal)
            continue
        for metric in metrics:
            value = float(metric.formula(measures))
            rows.append(MetricRow(name, metric.name, value, "undefined" if math.isnan(value) else "ok"))
    return rows
