"""Surface distances between two masks, in mm, under a convention (see :mod:`harness.metrics.conventions`).

:func:`compute_surface_distances` does the one expensive step per structure:
the surfaces of both masks and, per direction, the distance from every surface
element to the other surface. Every surface metric is then a cheap reduction of
that result (:mod:`harness.metrics.surface_metrics`), so HD, HD95, ASSD, MASD
and NSD share it.

The work is confined to the bounding box of both masks plus a one-voxel margin
of background (zero padding where the box meets the image border). This is
exact, not an approximation: in every convention the outside of the image is
background, the surfaces lie inside the box, and Euclidean distances between
surface points do not depend on the box. Per direction, surface points that lie
on both surfaces are at distance 0; points with a point of the other surface
among their nearest grid neighbours (tried shortest offset first) get that exact
distance; the rest get theirs from one Euclidean distance transform of the box,
or from one exact nearest-neighbour query (k-d tree) over the surface points when
those are few for the size of the box. All routes give the same distances
(tests/metrics/test_conventions_oracles.py checks them against each other).

None of these functions reads files.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import ndimage
from scipy.spatial import cKDTree

from harness.metrics.conventions import Convention, get_convention
from harness.metrics.surfel_table import (
    FULL_CODE_2D,
    FULL_CODE_3D,
    compute_contour_length_table,
    compute_surfel_area_table,
)

DistanceMethod = Literal["auto", "edt", "kdtree"]
# The k-d tree is used when (target points + query points) × this < voxels in the box: per point,
# building and querying costs about as much as the distance transform per this many voxels
# (measured on the cine and atrium cases of benchmarks/metrics_bench.py, 2-core reference machine).
KDTREE_POINT_COST_IN_VOXELS = 3
# Before either, each point tries its grid neighbours up to this many steps per axis (and this many
# times the smallest spacing), shortest offset first.
NEAR_STEPS = 2


@dataclass(frozen=True)
class SurfaceDistances:
    """Directed nearest-surface distances (mm) of two masks, with the weight of each surface element.

    ``*_weights`` are None under count weighting (every border voxel counts once) and
    the surfel areas (mm², or contour lengths in mm in 2D) under area weighting. A
    direction is empty when its mask is empty. ``is_sorted``: each direction is in
    ascending (distance, weight) order, as DeepMind returns them (done under area
    weighting, where the percentiles need it).
    """

    ref_to_pred_mm: np.ndarray
    pred_to_ref_mm: np.ndarray
    ref_weights: np.ndarray | None
    pred_weights: np.ndarray | None
    is_sorted: bool = False

    @property
    def has_both_surfaces(self) -> bool:
        return self.ref_to_pred_mm.size > 0 and self.pred_to_ref_mm.size > 0


@dataclass(frozen=True)
class Surface:
    """The surface elements of one mask on a grid: a boolean map, their flat indices (C order), their weights."""

    mask: np.ndarray
    flat: np.ndarray
    weights: np.ndarray | None


def pad_box(mask: np.ndarray, box: tuple[slice, ...]) -> np.ndarray:
    """``mask[box]`` as booleans with one voxel of background added on every side."""
    return np.pad(mask[box].astype(bool, copy=False), 1)


def bounding_box(mask: np.ndarray) -> tuple[slice, ...] | None:
    """The smallest box holding every True voxel of ``mask``, or None for an empty mask."""
    return ndimage.find_objects(mask.astype(np.uint8, copy=False), max_label=1)[0]


def extract_voxel_border(padded: np.ndarray) -> Surface:
    """Border voxels: the mask minus its erosion by the face-connected cross (medpy ``connectivity=1``, MONAI).

    ``padded`` must have a background margin; the result covers ``padded`` without that
    margin (a border voxel is never in it), and voxels at the image border count as border.
    """
    inner = tuple(slice(1, -1) for _ in range(padded.ndim))
    centre = padded[inner]
    interior = centre.copy()
    for axis in range(padded.ndim):  # erosion by the cross: all face neighbours inside
        for start, stop in ((0, -2), (2, None)):
            shifted = list(inner)
            shifted[axis] = slice(start, stop)
            interior &= padded[tuple(shifted)]
    border = centre & ~interior
    return Surface(border, np.flatnonzero(border), None)


def compute_neighbour_codes(padded: np.ndarray) -> np.ndarray:
    """DeepMind's corner codes: bit per voxel of the 2×2(×2) cell ``p − 1 … p`` (weights of ``CODE_KERNEL_*``).

    Covers the corners 1 … n of ``padded`` on each axis (corner 0 sees only the margin).
    Same values as ``ndimage.correlate(padded, CODE_KERNEL_*D, mode="constant")[1:, 1:(, 1:)]``.
    """
    codes: np.ndarray = padded.astype(np.uint8)
    for axis in reversed(range(padded.ndim)):  # x: ×2, then y: ×4, then z: ×16
        before = [slice(None)] * padded.ndim
        after = [slice(None)] * padded.ndim
        before[axis], after[axis] = slice(None, -1), slice(1, None)
        shift = 1 << (padded.ndim - 1 - axis)
        codes = (codes[tuple(before)] << shift) | codes[tuple(after)]
    return codes


def extract_surfels(padded: np.ndarray, spacing_mm: Sequence[float]) -> Surface:
    """DeepMind surfels on the corner grid of ``padded`` (corners 1 … n per axis) with their areas (mm², 2D: mm)."""
    if padded.ndim == 3:
        full, table = FULL_CODE_3D, compute_surfel_area_table(spacing_mm)
    else:
        full, table = FULL_CODE_2D, compute_contour_length_table(spacing_mm)
    codes = compute_neighbour_codes(padded)
    surfels = (codes != 0) & (codes != full)
    flat = np.flatnonzero(surfels)
    return Surface(surfels, flat, table[codes.ravel()[flat]])


def _points_mm(flat: np.ndarray, shape: tuple[int, ...], spacing: np.ndarray) -> np.ndarray:
    return np.stack(np.unravel_index(flat, shape), axis=1) * spacing


@functools.cache
def _near_offsets(spacing: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Grid offsets of at most ``NEAR_STEPS`` steps per axis and ``NEAR_STEPS`` × the smallest spacing, shortest first.

    Lengths are computed as the distance transform computes them: √Σ (step × spacing)².
    """
    steps = np.array(list(itertools.product(range(-NEAR_STEPS, NEAR_STEPS + 1), repeat=len(spacing))))
    steps = steps[np.any(steps != 0, axis=1)]
    lengths = np.sqrt(np.sum((steps * np.array(spacing)) ** 2, axis=1))
    keep = lengths <= NEAR_STEPS * min(spacing)
    order = np.argsort(lengths[keep], kind="stable")
    return steps[keep][order], lengths[keep][order]


def _nearest_by_neighbourhood(
    source_flat: np.ndarray, target_mask: np.ndarray, spacing: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Exact distances of the source points whose nearest target point is a close grid neighbour.

    Offsets are tried shortest first, so the first hit is the nearest target point: a
    closer one would sit at a shorter offset, and all of those were tried. Returns the
    distances in source order (NaN where no near offset hits) and the indices left over.
    """
    steps, lengths = _near_offsets(tuple(float(s) for s in spacing))
    padded = np.pad(target_mask, NEAR_STEPS).ravel()
    padded_shape = tuple(n + 2 * NEAR_STEPS for n in target_mask.shape)
    coords = np.unravel_index(source_flat, target_mask.shape)
    points = np.ravel_multi_index(tuple(c + NEAR_STEPS for c in coords), padded_shape)
    strides = np.array([int(np.prod(padded_shape[axis + 1 :])) for axis in range(len(padded_shape))])
    distances = np.full(source_flat.size, np.nan)
    pending = np.arange(source_flat.size)
    for step, length in zip(steps @ strides, lengths, strict=True):
        hit = padded[points + step]
        if hit.any():
            distances[pending[hit]] = length
            pending, points = pending[~hit], points[~hit]
            if not pending.size:
                break
    return distances, pending


def directed_distances(source: Surface, target: Surface, spacing: np.ndarray, method: DistanceMethod) -> np.ndarray:
    """Distance (mm) from every element of ``source`` (C order) to the nearest of ``target``; both non-empty.

    Points on both surfaces are at distance 0; under "auto", points with a target point
    among their near grid neighbours get that exact distance; only the rest need the
    k-d tree or the distance transform ("auto" picks the cheaper; the others force one).
    """
    position = np.minimum(np.searchsorted(target.flat, source.flat), target.flat.size - 1)
    distances = np.zeros(source.flat.size, dtype=np.float64)
    pending = np.flatnonzero(target.flat[position] != source.flat)
    if pending.size and method == "auto":
        near, left_over = _nearest_by_neighbourhood(source.flat[pending], target.mask, spacing)
        distances[pending] = near
        pending = pending[left_over]
    if not pending.size:
        return distances
    if method == "auto":
        n_points = target.flat.size + pending.size
        method = "kdtree" if n_points * KDTREE_POINT_COST_IN_VOXELS < target.mask.size else "edt"
    if method == "edt":
        transform = ndimage.distance_transform_edt(~target.mask, sampling=spacing).ravel()
        distances[pending] = transform[source.flat[pending]]
        return distances
    shape = target.mask.shape
    tree = cKDTree(_points_mm(target.flat, shape, spacing), leafsize=32, balanced_tree=False, compact_nodes=False)
    distances[pending] = tree.query(_points_mm(source.flat[pending], shape, spacing), k=1)[0]
    return distances


def _sort_by_distance(distances: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    order = np.lexsort((weights, distances))  # by distance, then weight, as surface_distance sorts
    return distances[order], weights[order]


def compute_surface_distances_padded(
    reference: np.ndarray,
    prediction: np.ndarray,
    spacing_mm: Sequence[float],
    convention: Convention,
    method: DistanceMethod = "auto",
) -> SurfaceDistances:
    """:func:`compute_surface_distances` on boolean masks that already have a background margin (see :func:`pad_box`)."""
    spacing = np.asarray(spacing_mm, dtype=np.float64)
    if convention.surface == "voxel":
        ref_surface, pred_surface = extract_voxel_border(reference), extract_voxel_border(prediction)
    else:
        ref_surface, pred_surface = extract_surfels(reference, spacing_mm), extract_surfels(prediction, spacing_mm)
    if ref_surface.flat.size and pred_surface.flat.size:
        ref_to_pred = directed_distances(ref_surface, pred_surface, spacing, method)
        pred_to_ref = directed_distances(pred_surface, ref_surface, spacing, method)
    else:  # an empty mask has no surface: the other direction has no partner
        ref_to_pred = np.full(ref_surface.flat.size, np.inf)
        pred_to_ref = np.full(pred_surface.flat.size, np.inf)
    if convention.float32:
        ref_to_pred = ref_to_pred.astype(np.float32).astype(np.float64)
        pred_to_ref = pred_to_ref.astype(np.float32).astype(np.float64)
    ref_weights, pred_weights = ref_surface.weights, pred_surface.weights
    if ref_weights is not None and pred_weights is not None:
        ref_to_pred, ref_weights = _sort_by_distance(ref_to_pred, ref_weights)
        pred_to_ref, pred_weights = _sort_by_distance(pred_to_ref, pred_weights)
    return SurfaceDistances(ref_to_pred, pred_to_ref, ref_weights, pred_weights, is_sorted=ref_weights is not None)


def compute_surface_distances(
    reference: np.ndarray,
    prediction: np.ndarray,
    spacing_mm: Sequence[float],
    convention: str | Convention = "segarena",
    method: DistanceMethod = "auto",
) -> SurfaceDistances:
    """Directed surface distances (mm) between two boolean masks of the same 2D or 3D shape.

    ``spacing_mm`` is in the arrays' axis order. ``method`` forces the distance
    transform or the k-d tree (same results; "auto" picks the faster). Empty masks: an
    empty mask has no surface, so its direction is empty and the other direction's
    distances are ``inf`` (both empty: both directions empty); the reductions then
    return NaN and the empty-mask policy decides the reported value.
    """
    if reference.shape != prediction.shape:
        raise ValueError(f"masks differ in shape: {reference.shape} and {prediction.shape}")
    if reference.ndim not in (2, 3) or len(spacing_mm) != reference.ndim:
        raise ValueError(f"need 2D or 3D masks with one spacing per axis, got {reference.shape} and {spacing_mm}")
    conv = get_convention(convention) if isinstance(convention, str) else convention
    box = bounding_box(reference.astype(bool) | prediction.astype(bool))
    if box is None:
        empty = np.zeros(0, dtype=np.float64)
        weights = None if conv.weighting == "count" else empty
        return SurfaceDistances(empty, empty, weights, weights, is_sorted=weights is not None)
    return compute_surface_distances_padded(pad_box(reference, box), pad_box(prediction, box), spacing_mm, conv, method)
