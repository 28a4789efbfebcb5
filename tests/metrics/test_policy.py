"""The empty-mask policy: each default rule pinned by hand, overrides, validation, and the description."""

from __future__ import annotations

import math

import numpy as np
import pytest
from pydantic import ValidationError

from harness.metrics import METRIC_NAMES, MetricsSettings, describe_policy, evaluate_case
from harness.metrics.policy import CASE_KINDS, DEFAULT_EMPTY_POLICY, resolve_policy

SPACING = (2.0, 1.0, 1.5)
SHAPE = (4, 6, 8)
DIAGONAL_MM = math.sqrt((4 * 2.0) ** 2 + 6.0**2 + (8 * 1.5) ** 2)
VOXEL_ML = 2.0 * 1.0 * 1.5 / 1000


def _mask(*voxels: tuple[int, int, int]) -> np.ndarray:
    labels = np.zeros(SHAPE, dtype=np.uint8)
    for voxel in voxels:
        labels[voxel] = 1
    return labels


def _values(reference: np.ndarray, prediction: np.ndarray | None, settings: MetricsSettings | None = None
            ) -> dict[str, tuple[float, str]]:  # fmt: skip
    rows = evaluate_case(reference, prediction, SPACING, {"S": [1]}, settings)
    return {r.metric: (r.value, r.status) for r in rows}


def _same(actual: float, expected: float) -> bool:
    return (math.isnan(actual) and math.isnan(expected)) or actual == pytest.approx(expected)


def _check(values: dict[str, tuple[float, str]], expected: dict[str, float], status: str) -> None:
    assert set(values) == set(METRIC_NAMES)
    for metric, (value, got_status) in values.items():
        assert got_status == status, metric
        assert _same(value, expected[metric]), (metric, value, expected[metric])


def test_defaults_are_complete_and_valid() -> None:
    assert set(DEFAULT_EMPTY_POLICY) == set(METRIC_NAMES)
    assert all(set(rules) == set(CASE_KINDS) for rules in DEFAULT_EMPTY_POLICY.values())
    assert resolve_policy({}) == DEFAULT_EMPTY_POLICY


def test_both_empty() -> None:
    nan = math.nan
    expected = {
        "dice": 1.0, "iou": 1.0, "precision": nan, "recall": nan, "specificity": 1.0, "pixel_accuracy": 1.0,
        "hd_mm": 0.0, "hd95_mm": 0.0, "assd_mm": 0.0, "masd_mm": 0.0, "nsd": 1.0,
        "volume_ref_ml": 0.0, "volume_pred_ml": 0.0, "volume_abs_diff_ml": 0.0, "volume_rel_diff": 0.0,
    }  # fmt: skip
    _check(_values(_mask(), _mask()), expected, "both_empty")


def test_reference_empty() -> None:
    nan = math.nan
    n_voxels = math.prod(SHAPE)
    expected = {
        "dice": 0.0, "iou": 0.0, "precision": 0.0, "recall": nan, "specificity": (n_voxels - 2) / n_voxels,
        "pixel_accuracy": (n_voxels - 2) / n_voxels,
        "hd_mm": DIAGONAL_MM, "hd95_mm": DIAGONAL_MM, "assd_mm": DIAGONAL_MM, "masd_mm": DIAGONAL_MM, "nsd": 0.0,
        "volume_ref_ml": 0.0, "volume_pred_ml": 2 * VOXEL_ML, "volume_abs_diff_ml": 2 * VOXEL_ML,
        "volume_rel_diff": nan,
    }  # fmt: skip
    _check(_values(_mask(), _mask((0, 0, 0), (3, 5, 7))), expected, "reference_empty")


def test_prediction_empty() -> None:
    n_voxels = math.prod(SHAPE)
    expected = {
        "dice": 0.0, "iou": 0.0, "precision": 0.0, "recall": 0.0, "specificity": 1.0,
        "pixel_accuracy": (n_voxels - 1) / n_voxels,  # nothing found, yet near 1: the class-imbalance trap
        "hd_mm": DIAGONAL_MM, "hd95_mm": DIAGONAL_MM, "assd_mm": DIAGONAL_MM, "masd_mm": DIAGONAL_MM, "nsd": 0.0,
        "volume_ref_ml": VOXEL_ML, "volume_pred_ml": 0.0, "volume_abs_diff_ml": VOXEL_ML, "volume_rel_diff": -1.0,
    }  # fmt: skip
    _check(_values(_mask((1, 1, 1)), _mask()), expected, "prediction_empty")


@pytest.mark.parametrize("reference_voxels", [[], [(1, 2, 3)]], ids=["reference-empty", "reference-present"])
def test_missing_prediction_is_a_failure_even_for_an_empty_reference(reference_voxels: list) -> None:
    nan = math.nan
    expected = {
        "dice": 0.0, "iou": 0.0, "precision": 0.0, "recall": 0.0, "specificity": 0.0, "pixel_accuracy": 0.0,
        "hd_mm": DIAGONAL_MM, "hd95_mm": DIAGONAL_MM, "assd_mm": DIAGONAL_MM, "masd_mm": DIAGONAL_MM, "nsd": 0.0,
        "volume_ref_ml": len(reference_voxels) * VOXEL_ML, "volume_pred_ml": nan, "volume_abs_diff_ml": nan,
        "volume_rel_diff": nan,
    }  # fmt: skip
    _check(_values(_mask(*reference_voxels), None), expected, "missing_prediction")


def test_single_voxel_both_present_is_ok() -> None:
    values = _values(_mask((1, 1, 1)), _mask((1, 1, 1)))
    assert all(status == "ok" for _, status in values.values())
    assert values["dice"][0] == 1.0 and values["hd_mm"][0] == 0.0 and values["nsd"][0] == 1.0


def test_overrides_replace_single_rules() -> None:
    settings = MetricsSettings(empty_policy={
        "hd95_mm": {"reference_empty": "exclude", "prediction_empty": 373.13},
        "dice": {"both_empty": "exclude"},
        "recall": {"reference_empty": "worst"},
    })  # fmt: skip
    reference_empty = _values(_mask(), _mask((0, 0, 0)), settings)
    assert math.isnan(reference_empty["hd95_mm"][0]) and reference_empty["hd95_mm"][1] == "reference_empty"
    assert reference_empty["hd_mm"][0] == pytest.approx(DIAGONAL_MM)  # untouched default
    assert reference_empty["recall"][0] == 0.0
    assert _values(_mask((0, 0, 0)), _mask(), settings)["hd95_mm"][0] == 373.13
    assert math.isnan(_values(_mask(), _mask(), settings)["dice"][0])


@pytest.mark.parametrize(
    ("policy", "message"),
    [
        ({"hd_mm": {"reference_empty": "compute"}}, "hd_mm: 'compute' is undefined when reference empty"),
        ({"dice": {"both_empty": "compute"}}, "dice: 'compute' is undefined when both empty"),
        ({"volume_ref_ml": {"both_empty": "worst"}}, "volume_ref_ml has no worst value"),
        ({"dice": {"both_empty": "perfect"}}, "both_empty"),
        ({"dise": {"both_empty": 1.0}}, "Did you mean 'dice'?"),
        ({"dice": {"all_empty": 1.0}}, "all_empty"),
    ],
)
def test_invalid_policies_are_rejected_with_a_reason(policy: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        MetricsSettings(empty_policy=policy)


def test_unknown_metric_names_list_the_valid_ones() -> None:
    with pytest.raises(ValidationError, match=r"unknown metric 'hd95'\. Did you mean 'hd95_mm'\? Valid metrics: dice"):
        MetricsSettings(names=["dice", "hd95"])
    with pytest.raises(ValidationError, match="listed twice: dice"):
        MetricsSettings(names=["dice", "dice"])
    with pytest.raises(ValidationError):
        MetricsSettings(convention="scipy")  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        MetricsSettings(nsd_tolerance_mm=-1.0)
    with pytest.raises(ValidationError):
        MetricsSettings(extra_knob=1)  # type: ignore[call-arg]


def test_settings_load_from_yaml_like_dicts() -> None:
    settings = MetricsSettings.model_validate(
        {
            "convention": "monai",
            "names": ["dice", "nsd"],
            "nsd_tolerance_mm": 1.0,
            "empty_policy": {"nsd": {"both_empty": "exclude"}},
        }  # fmt: skip
    )
    assert settings.convention == "monai" and settings.empty_policy["nsd"].both_empty == "exclude"


def test_describe_policy_lists_every_selected_metric_and_case() -> None:
    settings = MetricsSettings(convention="medpy", names=["dice", "hd95_mm", "nsd", "volume_ref_ml"],
                               empty_policy={"dice": {"both_empty": "exclude"}})  # fmt: skip
    rows = describe_policy(settings)
    assert [r["metric"] for r in rows] == ["dice", "hd95_mm", "nsd", "volume_ref_ml"]
    by_metric = {r["metric"]: r for r in rows}
    assert by_metric["dice"]["both_empty"] == "excluded"
    assert by_metric["dice"]["prediction_empty"] == "formula"
    assert by_metric["hd95_mm"]["reference_empty"] == "image diagonal (worst)"
    assert by_metric["hd95_mm"]["both_empty"] == "0 (best)"
    assert "pooled" in str(by_metric["hd95_mm"]["definition"])
    assert by_metric["nsd"]["nsd_tolerance_mm"] == "2"
    assert by_metric["volume_ref_ml"]["higher_is_better"] is None
    assert all(r["convention"] == "medpy" for r in rows)
