"""Each convention reproduces its library to 1e-6 on random anisotropic 2D / 3D masks.

The libraries are test oracles only (medpy is GPL; harness/ never imports them).
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from harness.metrics import MetricsSettings, evaluate_case
from harness.metrics.surface import compute_surface_distances
from tests.support.metrics_shapes import MaskPair, random_mask_pairs

PAIRS = random_mask_pairs(60)
TOLERANCE_MM = 2.0
RTOL = 1e-6


def _ours(pair: MaskPair, convention: str) -> dict[str, float]:
    settings = MetricsSettings(convention=convention, nsd_tolerance_mm=TOLERANCE_MM)
    reference = pair.reference.astype(np.uint8) * 3  # a non-1 label value
    prediction = pair.prediction.astype(np.uint8) * 3
    rows = evaluate_case(reference, prediction, pair.spacing_mm, {"S": [3]}, settings)
    assert {r.status for r in rows} == {"ok"}
    return {r.metric: r.value for r in rows}


def _assert_close(ours: dict[str, float], expected: dict[str, float], pair: MaskPair) -> None:
    for metric, value in expected.items():
        assert ours[metric] == pytest.approx(float(value), rel=RTOL, abs=1e-9), (metric, pair.case_id, pair.spacing_mm)


@pytest.mark.parametrize("pair", PAIRS, ids=[p.case_id for p in PAIRS])
def test_medpy_convention_matches_medpy(pair: MaskPair) -> None:
    binary = pytest.importorskip("medpy.metric.binary")
    pred, ref, spacing = pair.prediction, pair.reference, pair.spacing_mm
    expected = {
        "dice": binary.dc(pred, ref),
        "iou": binary.jc(pred, ref),
        "precision": binary.precision(pred, ref),
        "recall": binary.recall(pred, ref),
        "specificity": binary.specificity(pred, ref),
        "hd_mm": binary.hd(pred, ref, voxelspacing=spacing),
        "hd95_mm": binary.hd95(pred, ref, voxelspacing=spacing),
        "assd_mm": binary.assd(pred, ref, voxelspacing=spacing),
        "masd_mm": 0.5 * (binary.asd(pred, ref, voxelspacing=spacing) + binary.asd(ref, pred, voxelspacing=spacing)),
        "volume_rel_diff": binary.ravd(pred, ref),
    }
    _assert_close(_ours(pair, "medpy"), expected, pair)


@pytest.mark.parametrize("pair", PAIRS, ids=[p.case_id for p in PAIRS])
def test_segarena_convention_from_medpy_directed_distances(pair: MaskPair) -> None:
    """SegArena = medpy's border voxels and distances, max of the directed 95th percentiles, count-based NSD."""
    binary = pytest.importorskip("medpy.metric.binary")
    directed = getattr(binary, "__surface_distances")  # medpy's own border extraction + EDT, both directions
    pred_to_ref = directed(pair.prediction, pair.reference, pair.spacing_mm)
    ref_to_pred = directed(pair.reference, pair.prediction, pair.spacing_mm)
    pooled = np.concatenate([pred_to_ref, ref_to_pred])
    expected = {
        "hd_mm": pooled.max(),
        "hd95_mm": max(np.percentile(pred_to_ref, 95), np.percentile(ref_to_pred, 95)),
        "assd_mm": pooled.mean(),
        "masd_mm": 0.5 * (pred_to_ref.mean() + ref_to_pred.mean()),
        "nsd": np.count_nonzero(pooled <= TOLERANCE_MM) / pooled.size,
        "dice": binary.dc(pair.prediction, pair.reference),
    }
    _assert_close(_ours(pair, "segarena"), expected, pair)


@pytest.mark.parametrize("pair", PAIRS, ids=[p.case_id for p in PAIRS])
def test_monai_convention_matches_monai(pair: MaskPair) -> None:
    metrics = pytest.importorskip("monai.metrics")
    torch = pytest.importorskip("torch")
    pred = torch.from_numpy(pair.prediction[None, None].astype(np.float32))
    ref = torch.from_numpy(pair.reference[None, None].astype(np.float32))
    spacing = list(pair.spacing_mm)
    common = {"include_background": True, "spacing": spacing}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        directed = [
            metrics.compute_average_surface_distance(a, b, symmetric=False, **common).item()
            for a, b in ((pred, ref), (ref, pred))
        ]
        expected = {
            "dice": metrics.compute_dice(pred, ref, include_background=True).item(),
            "iou": metrics.compute_iou(pred, ref, include_background=True).item(),
            "hd_mm": metrics.compute_hausdorff_distance(pred, ref, **common).item(),
            "hd95_mm": metrics.compute_hausdorff_distance(pred, ref, percentile=95, **common).item(),
            "assd_mm": metrics.compute_average_surface_distance(pred, ref, symmetric=True, **common).item(),
            "masd_mm": 0.5 * sum(directed),
            "nsd": metrics.compute_surface_dice(pred, ref, [TOLERANCE_MM], **common).item(),
        }
        confusion = metrics.get_confusion_matrix(pred, ref, include_background=True)
        for ours_name, monai_name in (("precision", "precision"), ("recall", "sensitivity"),
                                      ("specificity", "specificity"), ("pixel_accuracy", "accuracy")):  # fmt: skip
            expected[ours_name] = metrics.compute_confusion_matrix_metric(monai_name, confusion).item()
    _assert_close(_ours(pair, "monai"), expected, pair)


@pytest.mark.parametrize("pair", PAIRS, ids=[p.case_id for p in PAIRS])
def test_deepmind_convention_matches_surface_distance(pair: MaskPair) -> None:
    sd = pytest.importorskip("surface_distance")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        distances = sd.compute_surface_distances(pair.reference, pair.prediction, pair.spacing_mm)
    areas = np.concatenate([distances["surfel_areas_gt"], distances["surfel_areas_pred"]])
    pooled = np.concatenate([distances["distances_gt_to_pred"], distances["distances_pred_to_gt"]])
    expected = {
        "dice": sd.compute_dice_coefficient(pair.reference, pair.prediction),
        "hd_mm": sd.compute_robust_hausdorff(distances, 100),
        "hd95_mm": sd.compute_robust_hausdorff(distances, 95),
        "assd_mm": np.sum(pooled * areas) / np.sum(areas),
        "masd_mm": 0.5 * sum(sd.compute_average_surface_distance(distances)),
        "nsd": sd.compute_surface_dice_at_tolerance(distances, TOLERANCE_MM),
    }
    _assert_close(_ours(pair, "deepmind"), expected, pair)


@pytest.mark.parametrize("convention", ["segarena", "deepmind"])
def test_distance_methods_agree(convention: str) -> None:
    """The distance transform, the k-d tree and "auto" (near-neighbour offsets first) give the same distances."""
    for pair in PAIRS:
        args = (pair.reference, pair.prediction, pair.spacing_mm, convention)
        by_edt = compute_surface_distances(*args, method="edt")
        for method in ("kdtree", "auto"):
            other = compute_surface_distances(*args, method=method)  # type: ignore[arg-type]
            np.testing.assert_allclose(other.ref_to_pred_mm, by_edt.ref_to_pred_mm, rtol=1e-12, atol=1e-12)
            np.testing.assert_allclose(other.pred_to_ref_mm, by_edt.pred_to_ref_mm, rtol=1e-12, atol=1e-12)
