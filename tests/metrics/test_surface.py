"""Surface extraction and distances on hand-computed masks, per convention."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import ndimage

from harness.metrics.conventions import get_convention
from harness.metrics.surface import compute_neighbour_codes, compute_surface_distances, extract_voxel_border
from harness.metrics.surface_metrics import (
    compute_assd_mm,
    compute_hd_mm,
    compute_hd_percentile_mm,
    compute_masd_mm,
    compute_nsd,
)
from harness.metrics.surfel_table import CODE_KERNEL_2D, CODE_KERNEL_3D

SEGARENA, MEDPY, DEEPMIND = get_convention("segarena"), get_convention("medpy"), get_convention("deepmind")


def _all(reference: np.ndarray, prediction: np.ndarray, spacing: tuple[float, ...], convention: str,
         tolerance_mm: float = 1.0) -> dict[str, float]:  # fmt: skip
    conv = get_convention(convention)
    d = compute_surface_distances(reference, prediction, spacing, conv)
    return {
        "hd": compute_hd_mm(d, conv),
        "hd95": compute_hd_percentile_mm(d, conv, 95.0),
        "assd": compute_assd_mm(d, conv),
        "masd": compute_masd_mm(d, conv),
        "nsd": compute_nsd(d, conv, tolerance_mm),
    }


def _pixel(shape: tuple[int, ...], *index: int) -> np.ndarray:
    mask = np.zeros(shape, dtype=bool)
    mask[index] = True
    return mask


def test_single_voxels_anisotropic_2d() -> None:
    """One pixel each, 3 columns apart at 0.5 mm: every distance is 1.5 mm."""
    values = _all(_pixel((3, 6), 1, 0), _pixel((3, 6), 1, 3), (2.0, 0.5), "segarena", tolerance_mm=1.5)
    assert values == pytest.approx({"hd": 1.5, "hd95": 1.5, "assd": 1.5, "masd": 1.5, "nsd": 1.0})
    assert _all(_pixel((3, 6), 1, 0), _pixel((3, 6), 1, 3), (2.0, 0.5), "segarena", 1.4)["nsd"] == 0.0


def test_same_single_voxel_3d_is_at_distance_zero() -> None:
    mask = _pixel((3, 4, 5), 1, 2, 3)
    values = _all(mask, mask, (5.0, 1.0, 1.0), "segarena")
    assert values == {"hd": 0.0, "hd95": 0.0, "assd": 0.0, "masd": 0.0, "nsd": 1.0}


def test_squares_shifted_by_one_column() -> None:
    """3×3 squares, columns 0-2 and 1-3: each border has 8 voxels, 4 of them at 1 mm, 4 at 0."""
    reference = np.zeros((3, 4), dtype=bool)
    reference[:, 0:3] = True
    prediction = np.zeros((3, 4), dtype=bool)
    prediction[:, 1:4] = True
    values = _all(reference, prediction, (1.0, 1.0), "segarena", tolerance_mm=0.5)
    assert values == pytest.approx({"hd": 1.0, "hd95": 1.0, "assd": 0.5, "masd": 0.5, "nsd": 0.5})


def test_hd95_pooled_versus_max_of_directed() -> None:
    """A 20-pixel line, predicted exactly plus two stray pixels 11 and 13 px beyond its end.

    prediction→reference: 20 zeros, 11, 13; its 95th percentile (rank 0.95 × 21 = 19.95) is 0.95 × 11.
    reference→prediction: 20 zeros. Pooled: 40 zeros, 11, 13; rank 0.95 × 41 = 38.95 falls among the zeros.
    """
    reference = np.zeros((3, 40), dtype=bool)
    reference[1, 0:20] = True
    prediction = reference.copy()
    prediction[1, [30, 32]] = True
    assert _all(reference, prediction, (1.0, 1.0), "segarena")["hd95"] == pytest.approx(0.95 * 11)
    assert _all(reference, prediction, (1.0, 1.0), "monai")["hd95"] == pytest.approx(0.95 * 11)
    assert _all(reference, prediction, (1.0, 1.0), "medpy")["hd95"] == 0.0
    assert _all(reference, prediction, (1.0, 1.0), "medpy")["hd"] == 13.0


def test_surfels_of_single_pixels_by_hand() -> None:
    """DeepMind 2D: a pixel has 4 corner surfels of length √2/2; 3 columns apart, distances are 2, 2, 3, 3."""
    d = compute_surface_distances(_pixel((3, 6), 1, 0), _pixel((3, 6), 1, 3), (1.0, 1.0), "deepmind")
    assert sorted(d.ref_to_pred_mm) == pytest.approx([2.0, 2.0, 3.0, 3.0])
    assert d.ref_weights == pytest.approx([math.sqrt(2) / 2] * 4)
    assert compute_hd_mm(d, DEEPMIND) == 3.0
    assert compute_hd_percentile_mm(d, DEEPMIND, 95.0) == 3.0  # cumulative area reaches 95 % at the 4th surfel
    assert compute_hd_percentile_mm(d, DEEPMIND, 50.0) == 2.0
    assert compute_assd_mm(d, DEEPMIND) == pytest.approx(2.5)
    assert compute_nsd(d, DEEPMIND, 2.0) == pytest.approx(0.5)


def test_voxel_border_treats_the_outside_as_background() -> None:
    full = np.pad(np.ones((3, 3), dtype=bool), 1)
    border = extract_voxel_border(full).mask
    assert border.sum() == 8 and not border[1, 1]


@pytest.mark.parametrize("convention", ["segarena", "medpy", "monai", "deepmind"])
def test_cropping_and_border_contact_do_not_change_distances(convention: str) -> None:
    """A mask touching the image border gives the same distances as the same mask inside a larger empty image."""
    rng = np.random.default_rng(3)
    reference = ndimage.gaussian_filter(rng.standard_normal((6, 12, 10)), 1.5) > 0
    prediction = ndimage.gaussian_filter(rng.standard_normal((6, 12, 10)), 1.5) > 0
    assert reference[0].any() and prediction[:, :, -1].any()
    spacing = (4.0, 0.8, 1.1)
    tight = _all(reference, prediction, spacing, convention)
    loose = _all(np.pad(reference, 3), np.pad(prediction, 3), spacing, convention)
    assert tight == pytest.approx(loose, rel=1e-12)


def test_empty_masks_give_nan_distances_and_defined_nsd() -> None:
    mask = _pixel((4, 4), 1, 1)
    empty = np.zeros((4, 4), dtype=bool)
    one_empty = _all(mask, empty, (1.0, 1.0), "segarena")
    assert all(math.isnan(one_empty[k]) for k in ("hd", "hd95", "assd", "masd")) and one_empty["nsd"] == 0.0
    both_empty = _all(empty, empty, (1.0, 1.0), "deepmind")
    assert all(math.isnan(v) for v in both_empty.values())
    assert _all(empty, mask, (1.0, 1.0), "deepmind")["nsd"] == 0.0


@pytest.mark.parametrize("ndim", [2, 3])
def test_neighbour_codes_match_deepmind_correlation(ndim: int) -> None:
    rng = np.random.default_rng(ndim)
    padded = np.pad(rng.random((5, 6, 7)[:ndim]) < 0.5, 1)
    kernel = CODE_KERNEL_3D if ndim == 3 else CODE_KERNEL_2D
    expected = ndimage.correlate(padded.astype(np.uint8), kernel, mode="constant", cval=0)[(slice(1, None),) * ndim]
    np.testing.assert_array_equal(compute_neighbour_codes(padded), expected)


@pytest.mark.parametrize("spacing", [(1.0, 1.0, 1.0), (10.0, 1.25, 1.25), (0.7, 2.1, 3.3), (1.0, 2.0)])
def test_surfel_tables_match_deepmind(spacing: tuple[float, ...]) -> None:
    lookup = pytest.importorskip("surface_distance.lookup_tables")
    from harness.metrics.surfel_table import compute_contour_length_table, compute_surfel_area_table

    if len(spacing) == 3:
        ours, theirs = compute_surfel_area_table(spacing), lookup.create_table_neighbour_code_to_surface_area(spacing)
    else:
        ours, theirs = (
            compute_contour_length_table(spacing),
            lookup.create_table_neighbour_code_to_contour_length(spacing),
        )
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)
