"""The evaluator: overlap, surface-distance and volume metrics per case and structure.

Pure functions on label maps plus spacing; they never read files (harness.evaluation
does). One :class:`Metric` object per metric (:mod:`harness.metrics.definitions`), found
by name in the catalogue (:mod:`harness.metrics.catalog`), which outside modules named in
``metrics.extra`` add to. Conventions (segarena, medpy, monai, deepmind) and the
empty-mask policy are explained in docs/metrics.md.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy import lazy_exports

if TYPE_CHECKING:  # the real names for type checkers; at run time they load on first use
    from harness.metrics.case import (
        FAILURE_STATUSES,
        STATUSES,
        MetricRow,
        evaluate_case,
        score_missing_prediction,
        score_unreadable_reference,
    )
    from harness.metrics.catalog import (
        BUILTIN_METRIC_NAMES,
        METRIC_INFO,
        METRIC_NAMES,
        MetricInfo,
        get_metric,
        load_metric_modules,
        register_metric,
    )
    from harness.metrics.conventions import CONVENTION_NAMES, Convention, get_convention
    from harness.metrics.metric import CaseMeasures, Metric
    from harness.metrics.policy import DEFAULT_EMPTY_POLICY, EmptyRuleOverride, describe_policy
    from harness.metrics.settings import MetricsSettings
    from harness.metrics.structures import parse_label_items, structures_from_dataset_json, structures_from_labels
    from harness.metrics.surface import SurfaceDistances, compute_surface_distances


# Imported on first use (PEP 562), so `import harness.metrics.settings` or the CLI's start-up
# does not pay for scipy and the readers.
_EXPORTS: dict[str, str] = {
    "FAILURE_STATUSES": "harness.metrics.case",
    "STATUSES": "harness.metrics.case",
    "MetricRow": "harness.metrics.case",
    "evaluate_case": "harness.metrics.case",
    "score_missing_prediction": "harness.metrics.case",
    "score_unreadable_reference": "harness.metrics.case",
    "BUILTIN_METRIC_NAMES": "harness.metrics.catalog",
    "METRIC_INFO": "harness.metrics.catalog",
    "METRIC_NAMES": "harness.metrics.catalog",
    "MetricInfo": "harness.metrics.catalog",
    "get_metric": "harness.metrics.catalog",
    "load_metric_modules": "harness.metrics.catalog",
    "register_metric": "harness.metrics.catalog",
    "CaseMeasures": "harness.metrics.metric",
    "Metric": "harness.metrics.metric",
    "CONVENTION_NAMES": "harness.metrics.conventions",
    "Convention": "harness.metrics.conventions",
    "get_convention": "harness.metrics.conventions",
    "DEFAULT_EMPTY_POLICY": "harness.metrics.policy",
    "EmptyRuleOverride": "harness.metrics.policy",
    "describe_policy": "harness.metrics.policy",
    "MetricsSettings": "harness.metrics.settings",
    "parse_label_items": "harness.metrics.structures",
    "structures_from_dataset_json": "harness.metrics.structures",
    "structures_from_labels": "harness.metrics.structures",
    "SurfaceDistances": "harness.metrics.surface",
    "compute_surface_distances": "harness.metrics.surface",
}

__all__ = [
    "BUILTIN_METRIC_NAMES",
    "CONVENTION_NAMES",
    "DEFAULT_EMPTY_POLICY",
    "FAILURE_STATUSES",
    "METRIC_INFO",
    "METRIC_NAMES",
    "STATUSES",
    "CaseMeasures",
    "Convention",
    "EmptyRuleOverride",
    "Metric",
    "MetricInfo",
    "MetricRow",
    "MetricsSettings",
    "SurfaceDistances",
    "compute_surface_distances",
    "describe_policy",
    "evaluate_case",
    "get_convention",
    "get_metric",
    "load_metric_modules",
    "parse_label_items",
    "register_metric",
    "score_missing_prediction",
    "score_unreadable_reference",
    "structures_from_dataset_json",
    "structures_from_labels",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
