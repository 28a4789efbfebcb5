"""``MetricsSettings``: the ``metrics:`` section of benchmark.yaml.

Example::

    metrics:
      convention: segarena          # segarena | medpy | monai | deepmind
      names: [dice, hd95_mm, nsd]   # default: every metric
      nsd_tolerance_mm: 2.0
      empty_policy:                 # overrides of the default empty-mask rules
        hd95_mm: {reference_empty: exclude}
        dice: {both_empty: exclude}
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.metrics.catalog import METRIC_INFO, METRIC_NAMES, unknown_metric_message
from harness.metrics.conventions import ConventionName
from harness.metrics.policy import EmptyRuleOverride, resolve_policy


class MetricsSettings(BaseModel):
    """Which metrics, under which convention, with which empty-mask rules (see docs/metrics.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    convention: ConventionName = "segarena"
    names: list[str] = Field(default_factory=lambda: list(METRIC_NAMES), min_length=1)
    nsd_tolerance_mm: float = Field(default=2.0, ge=0.0, allow_inf_nan=False)
    empty_policy: dict[str, EmptyRuleOverride] = Field(default_factory=dict)

    @field_validator("names")
    @classmethod
    def _known_unique_names(cls, names: list[str]) -> list[str]:
        for name in names:
            if name not in METRIC_INFO:
                raise ValueError(unknown_metric_message(name))
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"metric names listed twice: {', '.join(duplicates)}")
        return names

    @field_validator("empty_policy")
    @classmethod
    def _known_policy_names(cls, policy: dict[str, EmptyRuleOverride]) -> dict[str, EmptyRuleOverride]:
        for name in policy:
            if name not in METRIC_INFO:
                raise ValueError(unknown_metric_message(name))
        return policy

    @model_validator(mode="after")
    def _applicable_rules(self) -> MetricsSettings:
        resolve_policy(self.empty_policy)  # raises ValueError naming the metric and case
        return self
