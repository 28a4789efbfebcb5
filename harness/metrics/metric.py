"""What one metric is: the :class:`Metric` object, and what its formula gets (:class:`CaseMeasures`).

A metric is everything the harness knows about it in one place: its name (what a
:class:`~harness.metrics.MetricRow` carries in ``metric`` and ``metrics.names`` in
benchmark.yaml selects), kind, unit (in the name: ``_mm``, ``_ml``; no unit is a
fraction), direction, best and worst values, the case kinds in which its formula is
defined, its default empty-mask rules, its formula and how each convention defines it.
Imports neither numpy nor scipy: formulas import what they need when they run.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from harness.metrics.conventions import Convention
    from harness.metrics.overlap import ConfusionCounts
    from harness.metrics.surface import SurfaceDistances

MetricKind = Literal["overlap", "surface", "volume"]
CaseKind = Literal["both_empty", "reference_empty", "prediction_empty", "missing_prediction"]
CASE_KINDS: tuple[CaseKind, ...] = ("both_empty", "reference_empty", "prediction_empty", "missing_prediction")
RuleWord = Literal["compute", "best", "worst", "exclude"]
Rule = float | RuleWord
Bound = float | Literal["diagonal"]  # "diagonal": the image diagonal in mm, known per case
ALL_EMPTY: frozenset[CaseKind] = frozenset({"both_empty", "reference_empty", "prediction_empty"})


@dataclass(frozen=True)
class CaseMeasures:
    """What a formula gets for one structure of one case (confined to its bounding box)."""

    counts: ConfusionCounts
    distances: SurfaceDistances | None  # None unless a surface metric's formula is needed
    spacing_mm: tuple[float, ...]
    convention: Convention
    nsd_tolerance_mm: float


@dataclass(frozen=True)
class Metric:
    """One metric: what a report prints and ranks by, what the empty-mask policy applies, how it is computed.

    ``formula`` returns the plain value (NaN where it divides by zero); ``computable`` are the
    empty case kinds where that value is finite, so that the rule ``compute`` is allowed there;
    ``empty_rules`` are the default rules per case kind (see :mod:`harness.metrics.policy`);
    ``best`` / ``worst`` are None when the metric has no such value (a volume);
    ``conventions`` maps a convention name to how that convention defines the metric.
    """

    name: str
    kind: MetricKind
    unit: str  # "" for fractions
    higher_is_better: bool | None  # None: not a score (a volume)
    definition: str  # one line, convention-independent
    formula: Callable[[CaseMeasures], float]
    empty_rules: Mapping[CaseKind, Rule]
    computable: frozenset[CaseKind] = frozenset()
    best: Bound | None = None
    worst: Bound | None = None
    conventions: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if set(self.empty_rules) != set(CASE_KINDS):
            raise ValueError(f"metric {self.name!r}: empty_rules must give a rule for each of {', '.join(CASE_KINDS)}")

    @property
    def uses_surface_distances(self) -> bool:
        return self.kind == "surface"

    def bound(self, which: str) -> Bound | None:
        """The ``"best"`` or ``"worst"`` value, or None when the metric has none."""
        return self.best if which == "best" else self.worst if which == "worst" else None

    def describe(self, convention: str) -> str:
        """How ``convention`` defines this metric (the convention-independent definition if it says nothing)."""
        return self.conventions.get(convention, self.definition)


# Rule tables shared by several metrics (the defaults; see harness.metrics.policy and docs/metrics.md).
SIMILARITY_RULES: Mapping[CaseKind, Rule] = {
    "both_empty": "best", "reference_empty": "compute", "prediction_empty": "compute", "missing_prediction": "worst",
}  # fmt: skip
DISTANCE_RULES: Mapping[CaseKind, Rule] = {
    "both_empty": "best", "reference_empty": "worst", "prediction_empty": "worst", "missing_prediction": "worst",
}  # fmt: skip
