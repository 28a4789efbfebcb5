"""``MetricsSettings``: the ``metrics:`` section of benchmark.yaml.

Example::

    metrics:
      convention: segarena          # segarena | medpy | monai | deepmind
      names: [dice, hd95_mm, nsd]   # default: every built-in metric and those of `extra`
      extra: [my_metrics.counts]    # outside modules holding METRICS (see docs/metrics.md)
      nsd_tolerance_mm: 2.0
      empty_policy:                 # overrides of the default empty-mask rules
        hd95_mm: {reference_empty: exclude}
        dice: {both_empty: exclude}
"""

from __future__ import annotations

from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SerializerFunctionWrapHandler,
    field_validator,
    model_serializer,
    model_validator,
)

from harness.errors import UnknownNameError
from harness.metrics.catalog import BUILTIN_METRIC_NAMES, METRIC_INFO, load_metric_modules, unknown_metric_message
from harness.metrics.conventions import ConventionName
from harness.metrics.policy import EmptyRuleOverride, resolve_policy


class MetricsSettings(BaseModel):
    """Which metrics, under which convention, with which empty-mask rules (see docs/metrics.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    convention: ConventionName = "segarena"
    extra: list[str] = Field(default_factory=list, description="outside metric modules (dotted names) holding METRICS")
    names: list[str] = Field(default_factory=lambda: list(BUILTIN_METRIC_NAMES), min_length=1)
    nsd_tolerance_mm: float = Field(default=2.0, ge=0.0, allow_inf_nan=False)
    empty_policy: dict[str, EmptyRuleOverride] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _load_extra(cls, data: Any) -> Any:
        """Import the ``extra`` modules first, so that their metrics are known and, by default, selected."""
        if not isinstance(data, dict) or not data.get("extra"):
            return data
        extra = data["extra"]
        if not isinstance(extra, list) or not all(isinstance(m, str) for m in extra):
            return data  # the field's own validation says what is wrong
        try:
            names = load_metric_modules(extra)
        except UnknownNameError as err:
            raise ValueError(str(err)) from err
        if "names" not in data:
            data = {**data, "names": [*BUILTIN_METRIC_NAMES, *(n for n in names if n not in BUILTIN_METRIC_NAMES)]}
        return data

    @model_serializer(mode="wrap")
    def _without_empty_extra(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        """``extra`` only when given: the job keys of a benchmark without outside metrics stay as they were."""
        dumped: dict[str, Any] = handler(self)
        if not self.extra:
            dumped.pop("extra", None)
        return dumped

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
        resolve_policy(self.empty_policy, self.names)  # raises ValueError naming the metric and case
        return self
