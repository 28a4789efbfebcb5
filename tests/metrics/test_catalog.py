"""The metric catalogue: one object per metric, consistent rules, did-you-mean for unknown names."""

from __future__ import annotations

import pytest

from harness.errors import UnknownNameError
from harness.metrics import BUILTIN_METRIC_NAMES, METRIC_INFO, Metric, get_metric, register_metric
from harness.metrics.metric import CASE_KINDS
from harness.metrics.policy import check_rule


@pytest.mark.parametrize("name", BUILTIN_METRIC_NAMES)
def test_each_builtin_metric_carries_applicable_default_rules(name: str) -> None:
    metric = get_metric(name)
    assert METRIC_INFO[name] is metric
    for case in CASE_KINDS:
        check_rule(name, case, metric.empty_rules[case])  # raises if a default could not be applied
    assert (metric.best is None) == (metric.worst is None) or metric.kind == "volume"
    assert metric.describe("segarena")  # every metric has words for every convention


def test_unknown_name_says_did_you_mean() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'hd95_mm'"):
        get_metric("hd95")


def test_a_metric_without_every_empty_rule_is_refused() -> None:
    with pytest.raises(ValueError, match="empty_rules"):
        Metric("half", "overlap", "", True, "x", lambda m: 0.0, {"both_empty": "best"})


def test_another_metric_under_a_taken_name_is_refused() -> None:
    dice = get_metric("dice")
    assert register_metric(dice, "harness.metrics.definitions.overlap") is dice  # the same object: a no-op
    impostor = Metric("dice", "overlap", "", True, "not dice", lambda m: 0.0, dice.empty_rules)
    with pytest.raises(UnknownNameError, match="already defined"):
        register_metric(impostor, "elsewhere")
