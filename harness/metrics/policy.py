"""The empty-mask policy: what every metric is worth when a mask is empty or the prediction is missing.

Four case kinds, per structure (label or region) of one case:

* ``both_empty``: the reference and the prediction are both empty (a correctly
  predicted absence).
* ``reference_empty``: the reference is empty, the prediction is not.
* ``prediction_empty``: the prediction is empty, the reference is not.
* ``missing_prediction``: there is no (readable) prediction file at all. This is
  a failure of the method, never rewarded, even when the reference is empty.

A rule is one of

* ``"compute"``: the metric's own formula, allowed only where the formula is
  defined for that case (Dice with one empty mask is 0; a volume is always defined);
* ``"best"`` / ``"worst"``: the metric's best / worst value (1 / 0 for scores in
  [0, 1]; 0 / the image diagonal in mm for distances);
* ``"exclude"``: NaN; the row stays in the table with its status and the report
  counts it as excluded;
* a number: that value.

The defaults (:data:`DEFAULT_EMPTY_POLICY`) follow the Metrics Reloaded reference
implementation (``BinaryPairwiseMeasures``) where it defines a value and BraTS
otherwise (a distance with one empty mask is the image diagonal); see
docs/metrics.md for the table and the reasons.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict

from harness.metrics.catalog import BUILTIN_METRIC_NAMES, get_metric
from harness.metrics.metric import CASE_KINDS, CaseKind, Rule, RuleWord

if TYPE_CHECKING:
    from harness.metrics.settings import MetricsSettings

__all__ = ["CASE_KINDS", "DEFAULT_EMPTY_POLICY", "CaseKind", "EmptyRuleOverride", "Rule", "RuleWord",
           "apply_rule", "check_rule", "describe_policy", "describe_rule", "resolve_policy"]  # fmt: skip

# Each metric's default rules are in its definition (harness.metrics.definitions); this is their table.
DEFAULT_EMPTY_POLICY: dict[str, dict[CaseKind, Rule]] = {
    name: dict(get_metric(name).empty_rules) for name in BUILTIN_METRIC_NAMES
}


class EmptyRuleOverride(BaseModel):
    """Overrides of one metric's rules; a case kind left out keeps its default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    both_empty: Rule | None = None
    reference_empty: Rule | None = None
    prediction_empty: Rule | None = None
    missing_prediction: Rule | None = None


def check_rule(metric: str, case: CaseKind, rule: Rule) -> None:
    """Raise ValueError if ``rule`` cannot be applied to ``metric`` in ``case`` (e.g. "compute" for HD, one mask empty)."""
    if isinstance(rule, str):
        if rule == "compute" and case not in get_metric(metric).computable:
            raise ValueError(f"{metric}: 'compute' is undefined when {case.replace('_', ' ')}; "
                             "use best, worst, exclude or a number")  # fmt: skip
        if rule in ("best", "worst") and get_metric(metric).bound(rule) is None:
            raise ValueError(f"{metric} has no {rule} value; use compute, exclude or a number")
    elif not isinstance(rule, int | float):
        raise ValueError(f"{metric}: rule {rule!r} is not compute, best, worst, exclude or a number")


def resolve_policy(
    overrides: Mapping[str, EmptyRuleOverride], names: Sequence[str] | None = None
) -> dict[str, dict[CaseKind, Rule]]:
    """The rule table of ``names`` (default: the built-in metrics) and of the overridden metrics.

    Each metric's default rules with ``overrides`` applied, every rule checked.
    """
    table = {name: dict(get_metric(name).empty_rules) for name in (BUILTIN_METRIC_NAMES if names is None else names)}
    for metric, override in overrides.items():
        table.setdefault(metric, dict(get_metric(metric).empty_rules))
        for case in CASE_KINDS:
            rule = getattr(override, case)
            if rule is not None:
                check_rule(metric, case, rule)
                table[metric][case] = rule
    return table


def apply_rule(metric: str, case: CaseKind, rule: Rule, computed: float, diagonal_mm: float) -> float:
    """The value of ``metric`` under ``rule``; ``computed`` is the formula's value (used by "compute" only)."""
    if rule == "compute":
        return computed
    if rule == "exclude":
        return math.nan
    if rule in ("best", "worst"):
        bound = get_metric(metric).bound(rule)
        if bound is None:
            raise ValueError(f"{metric} has no {rule} value; use compute, exclude or a number")
        return diagonal_mm if bound == "diagonal" else float(bound)
    return float(rule)


def describe_rule(metric: str, rule: Rule) -> str:
    """A rule in words, for reports: "1 (best)", "image diagonal (worst)", "excluded", "formula"."""
    if rule == "compute":
        return "formula"
    if rule == "exclude":
        return "excluded"
    if rule in ("best", "worst"):
        bound = get_metric(metric).bound(rule)
        if bound is None:
            return f"none ({rule})"
        shown = "image diagonal" if bound == "diagonal" else f"{float(bound):g}"
        return f"{shown} ({rule})"
    return f"{float(rule):g}"


def describe_policy(settings: MetricsSettings) -> list[dict[str, str | bool | None]]:
    """Per selected metric: convention, unit, direction, definition and the rule for each case kind, in words.

    One dict per metric, keys ``metric, convention, unit, higher_is_better, definition, both_empty,
    reference_empty, prediction_empty, missing_prediction`` (and ``nsd_tolerance_mm`` on the NSD row).
    """
    table = resolve_policy(settings.empty_policy, settings.names)
    rows: list[dict[str, str | bool | None]] = []
    for metric in settings.names:
        info = get_metric(metric)
        row: dict[str, str | bool | None] = {
            "metric": metric,
            "convention": settings.convention,
            "unit": info.unit,
            "higher_is_better": info.higher_is_better,
            "definition": info.describe(settings.convention),
        }
        for case in CASE_KINDS:
            row[case] = describe_rule(metric, table[metric][case])
        if metric == "nsd":
            row["nsd_tolerance_mm"] = f"{settings.nsd_tolerance_mm:g}"
        rows.append(row)
    return rows
