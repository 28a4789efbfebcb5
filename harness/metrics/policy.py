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
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict

from harness.metrics.catalog import METRIC_INFO
from harness.metrics.conventions import get_convention

if TYPE_CHECKING:
    from harness.metrics.settings import MetricsSettings

CaseKind = Literal["both_empty", "reference_empty", "prediction_empty", "missing_prediction"]
CASE_KINDS: tuple[CaseKind, ...] = ("both_empty", "reference_empty", "prediction_empty", "missing_prediction")
RuleWord = Literal["compute", "best", "worst", "exclude"]
Rule = float | RuleWord

_SCORE: dict[str, float | str] = {"best": 1.0, "worst": 0.0}
_DISTANCE: dict[str, float | str] = {"best": 0.0, "worst": "diagonal"}
_DIFFERENCE: dict[str, float | str] = {"best": 0.0}
# best/worst value per metric; "diagonal" is the image diagonal in mm, known per case.
_BOUNDS: dict[str, Mapping[str, float | str]] = {
    "dice": _SCORE, "iou": _SCORE, "precision": _SCORE, "recall": _SCORE, "specificity": _SCORE, "nsd": _SCORE,
    "hd_mm": _DISTANCE, "hd95_mm": _DISTANCE, "assd_mm": _DISTANCE, "masd_mm": _DISTANCE,
    "volume_ref_ml": {}, "volume_pred_ml": {}, "volume_abs_diff_ml": _DIFFERENCE, "volume_rel_diff": _DIFFERENCE,
}  # fmt: skip
_ALL_EMPTY: frozenset[CaseKind] = frozenset({"both_empty", "reference_empty", "prediction_empty"})
# The case kinds in which the metric's formula gives a finite value.
_COMPUTABLE: dict[str, frozenset[CaseKind]] = {
    "dice": frozenset({"reference_empty", "prediction_empty"}),
    "iou": frozenset({"reference_empty", "prediction_empty"}),
    "precision": frozenset({"reference_empty"}),
    "recall": frozenset({"prediction_empty"}),
    "specificity": _ALL_EMPTY,
    "nsd": frozenset({"reference_empty", "prediction_empty"}),
    "hd_mm": frozenset(), "hd95_mm": frozenset(), "assd_mm": frozenset(), "masd_mm": frozenset(),
    "volume_ref_ml": _ALL_EMPTY | {"missing_prediction"},
    "volume_pred_ml": _ALL_EMPTY,
    "volume_abs_diff_ml": _ALL_EMPTY,
    "volume_rel_diff": frozenset({"prediction_empty"}),
}  # fmt: skip

_DISTANCE_RULES: dict[CaseKind, Rule] = {
    "both_empty": "best", "reference_empty": "worst", "prediction_empty": "worst", "missing_prediction": "worst",
}  # fmt: skip
_SIMILARITY_RULES: dict[CaseKind, Rule] = {
    "both_empty": "best", "reference_empty": "compute", "prediction_empty": "compute", "missing_prediction": "worst",
}  # fmt: skip
DEFAULT_EMPTY_POLICY: dict[str, dict[CaseKind, Rule]] = {
    "dice": _SIMILARITY_RULES,
    "iou": _SIMILARITY_RULES,
    "precision": {"both_empty": "exclude", "reference_empty": "compute", "prediction_empty": 0.0,
                  "missing_prediction": "worst"},
    "recall": {"both_empty": "exclude", "reference_empty": "exclude", "prediction_empty": "compute",
               "missing_prediction": "worst"},
    "specificity": {"both_empty": "compute", "reference_empty": "compute", "prediction_empty": "compute",
                    "missing_prediction": "worst"},
    "nsd": _SIMILARITY_RULES,
    "hd_mm": _DISTANCE_RULES, "hd95_mm": _DISTANCE_RULES, "assd_mm": _DISTANCE_RULES, "masd_mm": _DISTANCE_RULES,
    "volume_ref_ml": {"both_empty": "compute", "reference_empty": "compute", "prediction_empty": "compute",
                      "missing_prediction": "compute"},
    "volume_pred_ml": {"both_empty": "compute", "reference_empty": "compute", "prediction_empty": "compute",
                       "missing_prediction": "exclude"},
    "volume_abs_diff_ml": {"both_empty": "compute", "reference_empty": "compute", "prediction_empty": "compute",
                           "missing_prediction": "exclude"},
    "volume_rel_diff": {"both_empty": "best", "reference_empty": "exclude", "prediction_empty": "compute",
                        "missing_prediction": "exclude"},
}  # fmt: skip


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
        if rule == "compute" and case not in _COMPUTABLE[metric]:
            raise ValueError(f"{metric}: 'compute' is undefined when {case.replace('_', ' ')}; "
                             "use best, worst, exclude or a number")  # fmt: skip
        if rule in ("best", "worst") and rule not in _BOUNDS[metric]:
            raise ValueError(f"{metric} has no {rule} value; use compute, exclude or a number")
    elif not isinstance(rule, int | float):
        raise ValueError(f"{metric}: rule {rule!r} is not compute, best, worst, exclude or a number")


def resolve_policy(overrides: Mapping[str, EmptyRuleOverride]) -> dict[str, dict[CaseKind, Rule]]:
    """The full rule table: the defaults with ``overrides`` applied, every rule checked."""
    table = {metric: dict(rules) for metric, rules in DEFAULT_EMPTY_POLICY.items()}
    for metric, override in overrides.items():
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
        bound = _BOUNDS[metric][rule]
        return diagonal_mm if bound == "diagonal" else float(bound)
    return float(rule)


def describe_rule(metric: str, rule: Rule) -> str:
    """A rule in words, for reports: "1 (best)", "image diagonal (worst)", "excluded", "formula"."""
    if rule == "compute":
        return "formula"
    if rule == "exclude":
        return "excluded"
    if rule in ("best", "worst"):
        bound = _BOUNDS[metric][rule]
        shown = "image diagonal" if bound == "diagonal" else f"{float(bound):g}"
        return f"{shown} ({rule})"
    return f"{float(rule):g}"


def describe_policy(settings: MetricsSettings) -> list[dict[str, str | bool | None]]:
    """Per selected metric: convention, unit, direction, definition and the rule for each case kind, in words.

    One dict per metric, keys ``metric, convention, unit, higher_is_better, definition, both_empty,
    reference_empty, prediction_empty, missing_prediction`` (and ``nsd_tolerance_mm`` on the NSD row).
    """
    convention = get_convention(settings.convention)
    table = resolve_policy(settings.empty_policy)
    rows: list[dict[str, str | bool | None]] = []
    for metric in settings.names:
        info = METRIC_INFO[metric]
        row: dict[str, str | bool | None] = {
            "metric": metric,
            "convention": settings.convention,
            "unit": info.unit,
            "higher_is_better": info.higher_is_better,
            "definition": convention.describe(metric) or info.definition,
        }
        for case in CASE_KINDS:
            row[case] = describe_rule(metric, table[metric][case])
        if metric == "nsd":
            row["nsd_tolerance_mm"] = f"{settings.nsd_tolerance_mm:g}"
        rows.append(row)
    return rows
