"""Where the pixels go: one orientation, one in-plane grid (at most 256 px), and the 90° copy.

Positions follow DICOM: pixel (row r, column c) of a slice lies at
``ImagePositionPatient + c·Δc·x + r·Δr·y`` with ``x, y`` the two
ImageOrientationPatient vectors and ``(Δr, Δc)`` = PixelSpacing. ITK uses the
same patient (LPS) coordinates, so the NIfTI geometry is that of the DICOM.
Every slice is mapped onto the common grid about its own centre (the common
grid is centred on the first slice), by exact index arithmetic when only a
90° rotation, flip, pad or crop is needed and by linear interpolation
otherwise (spacing differs, non-right-angle rotation, downscaling). The
volume's z axis is the plane normal (a right-handed geometry); slices are
placed at the empirical slice spacing.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
from scipy import ndimage

from harness.common.images import Geometry
from harness.common.records import ConversionEvent

if TYPE_CHECKING:
    from segarena_datasets.kaggle_dsb.stacks import Slice, Stack

PARALLEL_COS = 0.999  # normals within ~2.6° are parallel (as cmr-seg-tl)


@dataclass(frozen=True)
class Plane:
    """In-plane axes of a slice, orthonormalised, and its normal."""

    x: np.ndarray
    y: np.ndarray

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.x, self.y)

    @classmethod
    def of(cls, orientation: tuple[float, ...]) -> Plane:
        x = np.asarray(orientation[:3], dtype=float)
        x = x / np.linalg.norm(x)
        y = np.asarray(orientation[3:], dtype=float)
        y = y - (y @ x) * x
        return cls(x, y / np.linalg.norm(y))


@dataclass(frozen=True)
class Grid:
    """The common in-plane grid of a subject's volume."""

    rows: int
    columns: int
    spacing_mm: tuple[float, float]  # (between rows, between columns), DICOM order
    plane: Plane
    scale_factor: float  # <= 1: the downscaling applied to reach at most max_size_px


def _largest_mode(values: list[tuple[float, ...]] | list[tuple[int, ...]]) -> tuple:
    counts = Counter(values)
    top = max(counts.values())
    return max(v for v, n in counts.items() if n == top)


def _event(subject: str, problem: str, resolution: str, detail: str, file: str = "", severity: str = "info") -> ConversionEvent:
    return ConversionEvent(subject, problem, resolution, detail, file, severity)


def common_orientation(stacks: list[Stack], subject: str) -> tuple[tuple[float, ...], list[Stack], list[ConversionEvent]]:
    """The most common orientation; slices whose plane is not parallel to it are removed."""
    rounded = [tuple(round(v, 3) for v in s.first.orientation) for s in stacks]
    counts = Counter(rounded)
    top = max(counts.values())
    mode = next(r for r in rounded if counts[r] == top)  # ties: the first slice in acquisition order
    reference = Plane.of(mode).normal
    kept: list[Stack] = []
    events: list[ConversionEvent] = []
    for stack in stacks:
        cos = float(abs(Plane.of(stack.first.orientation).normal @ reference))
        if cos < PARALLEL_COS:
            angle = math.degrees(math.acos(min(1.0, cos)))
            events.append(_event(subject, "non-parallel slice", "slice removed",
                                 f"{stack.label} is tilted {angle:.1f}° against the common plane", stack.first.rel,
                                 "warning"))
        else:
            kept.append(stack)
    return mode, kept, events


def in_plane_size(stack: Stack, plane: Plane) -> tuple[int, int]:
    """(rows, columns) of a slice as seen in the common orientation (a 90° slice swaps them)."""
    own = Plane.of(stack.first.orientation)
    if abs(own.x @ plane.x) >= abs(own.x @ plane.y):
        return stack.first.rows, stack.first.columns
    return stack.first.columns, stack.first.rows


def _in_plane_spacing(stack: Stack, plane: Plane) -> tuple[float, float]:
    own = Plane.of(stack.first.orientation)
    dr, dc = stack.first.pixel_spacing_mm
    return (dr, dc) if abs(own.x @ plane.x) >= abs(own.x @ plane.y) else (dc, dr)


def plan_grid(stacks: list[Stack], orientation: tuple[float, ...], max_size_px: int, subject: str) -> tuple[Grid, list[ConversionEvent]]:
    """Most common size and pixel spacing (largest on ties), downscaled so the larger side is <= max_size_px."""
    plane = Plane.of(orientation)
    sizes = [in_plane_size(s, plane) for s in stacks]
    spacings = [_in_plane_spacing(s, plane) for s in stacks]
    rows, columns = _largest_mode(sizes)
    spacing = _largest_mode(spacings)
    events: list[ConversionEvent] = []
    for stack, size, step in zip(stacks, sizes, spacings, strict=True):
        own = Plane.of(stack.first.orientation)
        if not (np.allclose(own.x, plane.x, atol=0.01) and np.allclose(own.y, plane.y, atol=0.01)):
            angle = math.degrees(math.atan2(float(own.x @ plane.y), float(own.x @ plane.x)))
            flipped = float(own.normal @ plane.normal) < 0
            events.append(_event(subject, "rotated slice plane", "rotated into the common orientation",
                                 f"{stack.label}: in-plane rotation {angle:.1f}°{', flipped' if flipped else ''}",
                                 stack.first.rel))
        if not np.allclose(step, spacing, rtol=1e-4):
            events.append(_event(subject, "pixel spacing mismatch", "resampled to the common grid",
                                 f"{stack.label}: {step[0]:g} x {step[1]:g} mm, common {spacing[0]:g} x {spacing[1]:g} mm",
                                 stack.first.rel))
        elif size != (rows, columns):
            events.append(_event(subject, "image size mismatch", "padded/cropped about the centre",
                                 f"{stack.label}: {size[0]} x {size[1]} px, common {rows} x {columns} px",
                                 stack.first.rel))
    factor = 1.0
    if max(rows, columns) > max_size_px:
        factor = max_size_px / max(rows, columns)
        new_rows, new_columns = round(rows * factor), round(columns * factor)
        new_spacing = (spacing[0] / factor, spacing[1] / factor)
        events.append(_event(subject, f"image larger than {max_size_px} px", f"downscaled in-plane by {factor:.6g}",
                             f"{rows} x {columns} px at {spacing[0]:g} x {spacing[1]:g} mm -> {new_rows} x "
                             f"{new_columns} px at {new_spacing[0]:.6g} x {new_spacing[1]:.6g} mm"))
        rows, columns, spacing = new_rows, new_columns, new_spacing
    return Grid(rows, columns, spacing, plane, factor), events


def _centre(stack: Stack) -> np.ndarray:
    image = stack.first
    plane = Plane.of(image.orientation)
    dr, dc = image.pixel_spacing_mm
    return (np.asarray(image.position_mm) + (image.columns - 1) / 2 * dc * plane.x
            + (image.rows - 1) / 2 * dr * plane.y)


def order_along_normal(slices: list[Slice], grid: Grid) -> list[Slice]:
    """Slices sorted by SliceLocation, reversed if that runs against the plane normal (right-handed volume)."""
    if len(slices) > 1 and float((_centre(slices[-1].stack) - _centre(slices[0].stack)) @ grid.plane.normal) < 0:
        return slices[::-1]
    return slices


def volume_geometry(grid: Grid, slices: list[Slice], slice_spacing_mm: float) -> Geometry:
    """ITK geometry of the stacked volume: slice 0's centre, z along the plane normal."""
    plane = grid.plane
    dr, dc = grid.spacing_mm
    origin = _centre(slices[0].stack) - (grid.columns - 1) / 2 * dc * plane.x - (grid.rows - 1) / 2 * dr * plane.y
    direction = np.column_stack([plane.x, plane.y, plane.normal])
    return Geometry((dc, dr, float(slice_spacing_mm)), tuple(float(v) for v in origin),
                    tuple(float(v) for v in direction.ravel()))


def map_stack(pixels: np.ndarray, stack: Stack, grid: Grid) -> np.ndarray:
    """Map a slice's frames ``(n, rows, columns)`` onto the common grid ``(n, grid.rows, grid.columns)``.

    Exact (index arithmetic) when the slice's axes are the grid's up to a 90°
    rotation or flip (within 0.01, the tolerance of the orientation log) and
    its pixel spacing is the grid's; interpolated otherwise.
    """
    image = stack.first
    own = Plane.of(image.orientation)
    dr_s, dc_s = image.pixel_spacing_mm
    dr_t, dc_t = grid.spacing_mm
    # cosines between the grid's (row, column) axes and the slice's
    axes = np.array([[grid.plane.y @ own.y, grid.plane.x @ own.y], [grid.plane.y @ own.x, grid.plane.x @ own.x]])
    # source (row, column) = matrix @ target (row, column) + offset, both about the slice centres
    matrix = axes * np.array([[dr_t / dr_s, dc_t / dr_s], [dr_t / dc_s, dc_t / dc_s]])
    permutation = np.round(axes)
    is_permutation = (np.abs(permutation).sum(axis=0) == 1).all() and (np.abs(permutation).sum(axis=1) == 1).all()
    if is_permutation and np.allclose(axes, permutation, atol=0.01) and np.allclose(
        _in_plane_spacing(stack, grid.plane), grid.spacing_mm, rtol=1e-4
    ):
        matrix = permutation
    centre_s = np.array([(image.rows - 1) / 2, (image.columns - 1) / 2])
    offset = centre_s - matrix @ np.array([(grid.rows - 1) / 2, (grid.columns - 1) / 2])
    shape = (grid.rows, grid.columns)
    if matrix is permutation:
        shift = np.floor(offset + 0.5).astype(int)
        if (permutation == np.eye(2)).all() and (shift == 0).all() and pixels.shape[1:] == shape:
            return pixels
        return _index_map(pixels, permutation.astype(int), shift, shape)
    return _interpolate(pixels, matrix, offset, shape)


def _index_map(pixels: np.ndarray, matrix: np.ndarray, shift: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Exact rotation by multiples of 90°, flips, pads (with 0) and crops."""
    r, c = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    src_r = matrix[0, 0] * r + matrix[0, 1] * c + shift[0]
    src_c = matrix[1, 0] * r + matrix[1, 1] * c + shift[1]
    inside = (src_r >= 0) & (src_r < pixels.shape[1]) & (src_c >= 0) & (src_c < pixels.shape[2])
    out = np.zeros((pixels.shape[0], *shape), dtype=pixels.dtype)
    out[:, inside] = pixels[:, src_r[inside], src_c[inside]]
    return out


def _interpolate(pixels: np.ndarray, matrix: np.ndarray, offset: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Linear interpolation, Gaussian-smoothed first when shrinking (sigma = (factor - 1) / 2 per axis).

    A source pixel covers ±0.5 pixel about its centre: target points within
    that extent take the edge values, points beyond it are 0 (padding).
    """
    sigma = [max(0.0, (float(np.linalg.norm(matrix[i])) - 1) / 2) for i in range(2)]
    r, c = np.meshgrid(np.arange(shape[0]), np.arange(shape[1]), indexing="ij")
    src_r = matrix[0, 0] * r + matrix[0, 1] * c + offset[0]
    src_c = matrix[1, 0] * r + matrix[1, 1] * c + offset[1]
    outside = (src_r < -0.5) | (src_r > pixels.shape[1] - 0.5) | (src_c < -0.5) | (src_c > pixels.shape[2] - 0.5)
    out = np.empty((pixels.shape[0], *shape), dtype=pixels.dtype)
    for k, frame in enumerate(pixels):
        source = frame.astype(np.float32)
        if max(sigma) > 0:
            source = ndimage.gaussian_filter(source, sigma, mode="nearest")
        mapped = ndimage.affine_transform(source, matrix, offset=offset, output_shape=shape, order=1, mode="nearest")
        mapped[outside] = 0
        out[k] = _cast(mapped, pixels.dtype)
    return out


def _cast(array: np.ndarray, dtype: np.dtype) -> np.ndarray:
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(array), info.min, info.max).astype(dtype)
    return array.astype(dtype)


def rotate90(volume: np.ndarray, geometry: Geometry) -> tuple[np.ndarray, Geometry]:
    """cmr-seg-tl's ``_rot90`` copy (``np.rot90(volume_xy, 3)``), with the geometry kept correct.

    ``volume`` is ``(..., rows, columns)``; the copy has the columns as rows.
    New pixel (r', c') is old pixel (c', columns - 1 - r'), so the new x axis
    is the old y axis and the new y axis the old x axis reversed.
    """
    columns = volume.shape[-1]
    rotated = np.ascontiguousarray(np.rot90(volume, k=1, axes=(-2, -1)))
    d = np.asarray(geometry.direction).reshape(3, 3)
    x, y, z = d[:, 0], d[:, 1], d[:, 2]
    dx, dy, dz = geometry.spacing_mm
    origin = np.asarray(geometry.origin_mm) + (columns - 1) * dx * x
    direction = np.column_stack([y, -x, z])
    return rotated, Geometry((dy, dx, dz), tuple(float(v) for v in origin), tuple(float(v) for v in direction.ravel()))
