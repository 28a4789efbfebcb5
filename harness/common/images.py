"""Typed images: an intensity image and a label map are different types.

Arrays are kept in SimpleITK's array order ``(z, y, x)`` (or ``(y, x)`` in 2D);
:class:`Geometry` keeps ITK's physical order ``(x, y, z)`` for spacing and
origin, exactly as the file header stores them, so a round trip is lossless.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from harness.common.integrity import check_nifti_complete
from harness.errors import InputDataError


@dataclass(frozen=True)
class Geometry:
    """Physical placement of a voxel grid, in ITK (x, y, z) order."""

    spacing_mm: tuple[float, ...]
    origin_mm: tuple[float, ...]
    direction: tuple[float, ...]

    @property
    def array_spacing_mm(self) -> tuple[float, ...]:
        """Spacing in the array's (z, y, x) axis order, as the metrics expect it."""
        return tuple(reversed(self.spacing_mm))

    @property
    def voxel_volume_ml(self) -> float:
        return float(np.prod(self.spacing_mm)) / 1000.0

    @classmethod
    def identity(cls, spacing_mm: tuple[float, ...]) -> Geometry:
        dim = len(spacing_mm)
        return cls(
            spacing_mm=tuple(float(s) for s in spacing_mm),
            origin_mm=(0.0,) * dim,
            direction=tuple(float(v) for v in np.eye(dim).ravel()),
        )

    @classmethod
    def of(cls, image: sitk.Image) -> Geometry:
        return cls(tuple(image.GetSpacing()), tuple(image.GetOrigin()), tuple(image.GetDirection()))

    def apply_to(self, image: sitk.Image) -> None:
        image.SetSpacing(self.spacing_mm)
        image.SetOrigin(self.origin_mm)
        image.SetDirection(self.direction)

    def matches(self, other: Geometry, tol: float = 1e-5) -> bool:
        return all(
            len(a) == len(b) and np.allclose(a, b, atol=tol, rtol=0)
            for a, b in (
                (self.spacing_mm, other.spacing_mm),
                (self.origin_mm, other.origin_mm),
                (self.direction, other.direction),
            )
        )


@dataclass(frozen=True, eq=False)
class ScalarImage:
    """An intensity image (one channel)."""

    array: np.ndarray
    geometry: Geometry


@dataclass(frozen=True, eq=False)
class LabelMap:
    """A label map of consecutive integer labels (0 = background)."""

    array: np.ndarray
    geometry: Geometry

    def __post_init__(self) -> None:
        if not np.issubdtype(self.array.dtype, np.integer):
            raise TypeError(f"a LabelMap needs an integer array, got {self.array.dtype}")


def _to_sitk(array: np.ndarray, geometry: Geometry) -> sitk.Image:
    image = sitk.GetImageFromArray(array)
    if image.GetDimension() != len(geometry.spacing_mm):
        raise ValueError(
            f"array has {array.ndim} dimensions but the geometry has {len(geometry.spacing_mm)}"
        )
    geometry.apply_to(image)
    return image


def write_image(image: ScalarImage | LabelMap, path: Path) -> None:
    """Write an image or label map; the format follows the file name (.nii.gz, .nrrd, .mha)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    array = image.array
    if isinstance(image, LabelMap):
        array = array.astype(np.uint8 if array.max(initial=0) < 256 else np.uint16)
    sitk.WriteImage(_to_sitk(array, image.geometry), str(path), useCompression=True)


def _read(path: Path) -> sitk.Image:
    if not path.is_file():
        raise InputDataError(f"{path}: file not found")
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as err:
        first_line = str(err).strip().splitlines()[-1] if str(err).strip() else "unreadable"
        raise InputDataError(f"{path}: cannot be read as an image ({first_line})") from err
    if path.name.endswith((".nii", ".nii.gz")):
        check_nifti_complete(path)
    return image


def read_image(path: Path) -> ScalarImage:
    image = _read(path)
    return ScalarImage(sitk.GetArrayFromImage(image), Geometry.of(image))


def read_label(path: Path) -> LabelMap:
    image = _read(path)
    array = sitk.GetArrayFromImage(image)
    if not np.issubdtype(array.dtype, np.integer):
        rounded = np.rint(array)
        if not np.array_equal(rounded, array):
            raise InputDataError(f"{path}: label map holds non-integer values")
        array = rounded.astype(np.int32)
    return LabelMap(array, Geometry.of(image))
