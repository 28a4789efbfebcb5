"""Overlap metrics: Dice, IoU, precision, recall, specificity, pixel accuracy (the same formula in every convention).

Scores in [0, 1], higher is better. The defaults follow Metrics Reloaded where it defines
a value (one empty mask: Dice 0), see docs/metrics.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from harness.metrics.metric import ALL_EMPTY, SIMILARITY_RULES, CaseKind, CaseMeasures, Metric, Rule


def _counts_formula(name: str) -> Callable[[CaseMeasures], float]:
    """``harness.metrics.overlap.<name>`` on the case's confusion counts (numpy is imported when it runs)."""

    def formula(measures: CaseMeasures) -> float:
        from harness.metrics import overlap

        compute: Callable[..., float] = getattr(overlap, name)
        return compute(measures.counts)

    return formula


def _score(
    name: str,
    definition: str,
    formula: str,
    computable: frozenset[CaseKind],
    rules: Mapping[CaseKind, Rule] | None = None,
) -> Metric:
    return Metric(name, "overlap", "", True, definition, _counts_formula(formula), rules or SIMILARITY_RULES,
                  computable, best=1.0, worst=0.0)  # fmt: skip


METRICS: tuple[Metric, ...] = (
    _score("dice", "2|R∩P| / (|R| + |P|)", "compute_dice", frozenset({"reference_empty", "prediction_empty"})),
    _score("iou", "|R∩P| / |R∪P|", "compute_iou", frozenset({"reference_empty", "prediction_empty"})),
    _score("precision", "|R∩P| / |P|", "compute_precision", frozenset({"reference_empty"}),
           {"both_empty": "exclude", "reference_empty": "compute", "prediction_empty": 0.0,
            "missing_prediction": "worst"}),
    _score("recall", "|R∩P| / |R|", "compute_recall", frozenset({"prediction_empty"}),
           {"both_empty": "exclude", "reference_empty": "exclude", "prediction_empty": "compute",
            "missing_prediction": "worst"}),
    _score("specificity", "|¬R∩¬P| / |¬R|", "compute_specificity", ALL_EMPTY,
           {"both_empty": "compute", "reference_empty": "compute", "prediction_empty": "compute",
            "missing_prediction": "worst"}),
    # Beside Dice it shows the class-imbalance trap: an empty prediction of a 2 % structure scores 0.98.
    _score("pixel_accuracy", "(|R∩P| + |¬R∩¬P|) / N (over the whole image)", "compute_pixel_accuracy", ALL_EMPTY,
           {"both_empty": "compute", "reference_empty": "compute", "prediction_empty": "compute",
            "missing_prediction": "worst"}),
)  # fmt: skip
