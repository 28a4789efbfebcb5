"""The evaluator: overlap, surface-distance and volume metrics per case and structure.

Pure functions on label maps plus spacing (they never read files), except
:func:`evaluate_folders`, which reads two folders of masks and writes a CSV.
Conventions (segarena, medpy, monai, deepmind) and the empty-mask policy are
explained in docs/metrics.md.
"""

from __future__ import annotations

from harness.metrics.case import (
    FAILURE_STATUSES,
    STATUSES,
    MetricRow,
    evaluate_case,
    score_missing_prediction,
    score_unreadable_reference,
)
from harness.metrics.catalog import METRIC_INFO, METRIC_NAMES, MetricInfo
from harness.metrics.conventions import CONVENTION_NAMES, Convention, get_convention
from harness.metrics.folder import FolderEvaluation, evaluate_folders
from harness.metrics.policy import DEFAULT_EMPTY_POLICY, EmptyRuleOverride, describe_policy
from harness.metrics.settings import MetricsSettings
from harness.metrics.structures import parse_label_items, structures_from_dataset_json, structures_from_labels
from harness.metrics.surface import SurfaceDistances, compute_surface_distances

__all__ = [
    "CONVENTION_NAMES",
    "DEFAULT_EMPTY_POLICY",
    "FAILURE_STATUSES",
    "METRIC_INFO",
    "METRIC_NAMES",
    "STATUSES",
    "Convention",
    "EmptyRuleOverride",
    "FolderEvaluation",
    "MetricInfo",
    "MetricRow",
    "MetricsSettings",
    "SurfaceDistances",
    "compute_surface_distances",
    "describe_policy",
    "evaluate_case",
    "evaluate_folders",
    "get_convention",
    "parse_label_items",
    "score_missing_prediction",
    "score_unreadable_reference",
    "structures_from_dataset_json",
    "structures_from_labels",
]
