"""evaluate_case: structures and regions, 2D and 3D, ordering, input checks, cropping."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from harness.errors import ConfigError, InputDataError
from harness.metrics import MetricRow, MetricsSettings, evaluate_case
from harness.metrics.case import find_label_boxes, foreground_box


def _by_key(rows: list[MetricRow]) -> dict[tuple[str, str], MetricRow]:
    return {(r.label, r.metric): r for r in rows}


def _brats_like() -> tuple[np.ndarray, np.ndarray]:
    """Nested tumour labels (1 necrosis, 2 oedema, 3 enhancing) in a 3D volume; the prediction misses a slab."""
    reference = np.zeros((12, 20, 20), dtype=np.uint8)
    reference[2:10, 4:16, 4:16] = 2
    reference[3:9, 6:14, 6:14] = 3
    reference[4:8, 8:12, 8:12] = 1
    prediction = reference.copy()
    prediction[2:4] = np.where(prediction[2:4] == 3, 2, prediction[2:4])  # enhancing called oedema in 2 slices
    return reference, prediction


def test_regions_score_the_union_of_their_labels() -> None:
    reference, prediction = _brats_like()
    structures = {"WT": [1, 2, 3], "TC": [1, 3], "ET": [3]}
    rows = _by_key(evaluate_case(reference, prediction, (1.0, 1.0, 1.0), structures, MetricsSettings(names=["dice"])))
    for name, labels in structures.items():
        ref, pred = np.isin(reference, labels), np.isin(prediction, labels)
        expected = 2 * np.count_nonzero(ref & pred) / (np.count_nonzero(ref) + np.count_nonzero(pred))
        assert rows[(name, "dice")].value == pytest.approx(expected)
    assert rows[("WT", "dice")].value == 1.0 and rows[("ET", "dice")].value < 1.0


def test_rows_follow_structure_then_metric_order() -> None:
    reference, prediction = _brats_like()
    settings = MetricsSettings(names=["nsd", "dice", "volume_ref_ml"])
    rows = evaluate_case(reference, prediction, (1.0, 1.0, 1.0), {"ET": [3], "WT": [1, 2, 3]}, settings)
    assert [(r.label, r.metric) for r in rows] == [
        ("ET", "nsd"), ("ET", "dice"), ("ET", "volume_ref_ml"), ("WT", "nsd"), ("WT", "dice"), ("WT", "volume_ref_ml"),
    ]  # fmt: skip


def test_2d_case_with_anisotropic_pixels() -> None:
    reference = np.zeros((10, 10), dtype=np.int16)
    reference[2:5, 2:5] = 1
    prediction = np.zeros_like(reference)
    prediction[2:5, 3:6] = 1
    rows = _by_key(evaluate_case(reference, prediction, (1.0, 2.0), {"A": [1]}))
    assert rows[("A", "dice")].value == pytest.approx(6 / 9)
    assert rows[("A", "volume_ref_ml")].value == pytest.approx(9 * 2.0 / 1000)
    assert rows[("A", "hd_mm")].value == pytest.approx(2.0)  # one column of 2 mm
    # per direction: 3 border pixels 2 mm away (a column), 1 pixel 1 mm away (a row), 4 on the other border
    assert rows[("A", "assd_mm")].value == pytest.approx((2 * (3 * 2.0 + 1.0)) / 16)


def test_other_labels_are_ignored_and_labels_may_be_any_integer_type() -> None:
    reference, prediction = _brats_like()
    noisy = prediction.astype(np.int32)
    noisy[0, 0, 0] = 7  # a label no structure uses
    base = evaluate_case(reference, prediction, (1.0, 1.0, 1.0), {"ET": [3]})
    assert evaluate_case(reference.astype(np.float32), noisy, (1.0, 1.0, 1.0), {"ET": [3]}) == base


def test_specificity_is_undefined_when_the_reference_fills_the_image() -> None:
    full = np.ones((3, 3), dtype=np.uint8)
    rows = _by_key(evaluate_case(full, full, (1.0, 1.0), {"A": [1]}))
    assert rows[("A", "dice")].value == 1.0 and rows[("A", "hd_mm")].value == 0.0
    assert math.isnan(rows[("A", "specificity")].value) and rows[("A", "specificity")].status == "undefined"


@pytest.mark.parametrize("convention", ["segarena", "medpy", "monai", "deepmind"])
def test_results_do_not_depend_on_empty_space_around_the_masks(convention: str) -> None:
    reference, prediction = _brats_like()
    settings = MetricsSettings(convention=convention, names=["dice", "hd_mm", "hd95_mm", "assd_mm", "masd_mm", "nsd"])
    spacing = (3.0, 0.9, 1.2)
    tight = evaluate_case(reference[2:10, 4:16, 4:16], prediction[2:10, 4:16, 4:16], spacing, {"T": [1, 3]}, settings)
    loose = evaluate_case(np.pad(reference, 5), np.pad(prediction, 5), spacing, {"T": [1, 3]}, settings)
    for a, b in zip(tight, loose, strict=True):
        assert a.value == pytest.approx(b.value, rel=1e-12) and a.status == b.status


def test_label_boxes_match_find_objects() -> None:
    rng = np.random.default_rng(5)
    labels = (ndimage.gaussian_filter(rng.standard_normal((9, 30, 25)), 2) * 40).clip(0, 6).astype(np.uint8)
    assert find_label_boxes(labels, 8) == ndimage.find_objects(labels, max_label=8)
    assert foreground_box(np.zeros((3, 4), np.uint8)) is None
    assert find_label_boxes(np.zeros((3, 4), np.uint8), 2) == [None, None]


def test_input_errors() -> None:
    labels = np.zeros((4, 4), dtype=np.uint8)
    with pytest.raises(InputDataError, match="shape"):
        evaluate_case(labels, np.zeros((4, 5), np.uint8), (1.0, 1.0), {"A": [1]})
    with pytest.raises(InputDataError, match="spacing_mm"):
        evaluate_case(labels, labels, (1.0, 1.0, 1.0), {"A": [1]})
    with pytest.raises(InputDataError, match="spacing_mm"):
        evaluate_case(labels, labels, (1.0, 0.0), {"A": [1]})
    with pytest.raises(InputDataError, match="non-integer"):
        evaluate_case(labels + 0.5, labels, (1.0, 1.0), {"A": [1]})
    with pytest.raises(InputDataError, match="2D or 3D"):
        evaluate_case(np.zeros(4, np.uint8), np.zeros(4, np.uint8), (1.0,), {"A": [1]})
    with pytest.raises(ConfigError, match="labels >= 1"):
        evaluate_case(labels, labels, (1.0, 1.0), {"background": [0]})
    with pytest.raises(ConfigError, match="no structures"):
        evaluate_case(labels, labels, (1.0, 1.0), {})
