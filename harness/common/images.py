"""Typed images: an intensity image and a label map are different types.

:func:`read_image` and :func:`read_label` are the only readers of image and mask files; every
problem with a file is an :class:`~harness.common.integrity.ImageFileError` naming it.

Arrays are kept in SimpleITK's array order ``(z, y, x)`` (or ``(y, x)`` in 2D);
:class:`Geometry` keeps ITK's physical order ``(x, y, z)`` for spacing and
origin, exactly as the file header stores them, so a round trip is lossless.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from harness.common.integrity import ImageFileError, check_nifti_complete


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
    """The one reader of image and mask files: every problem is an :class:`ImageFileError` naming the file.

    NIfTI files are checked for truncation (ITK would fill the missing voxels with zeros).
    """
    if not path.is_file():
        raise ImageFileError(path, "missing", f"{path}: file not found")
    if path.name.endswith((".nii", ".nii.gz")):
        check_nifti_complete(path)
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as err:
        first_line = str(err).strip().splitlines()[-1] if str(err).strip() else "unreadable"
        raise ImageFileError(path, "unreadable", f"{path}: cannot be read as an image ({first_line})") from err
    return image


def read_image(path: Path) -> ScalarImage:
    image = _read(path)
    return ScalarImage(sitk.GetArrayFromImage(image), Geometry.of(image))


def _count_non_finite(path: Path, array: np.ndarray) -> int:
    """NaN / inf voxels of a float file. ITK's NIfTI reader turns NaN into 0, so NIfTI data is read raw."""
    if path.name.endswith((".nii", ".nii.gz")):
        import nibabel as nib

        nifti: Any = nib.load(str(path))  # a Nifti1Image or Nifti2Image
        array = np.asanyarray(nifti.dataobj)
    return int(np.count_nonzero(~np.isfinite(array)))


def read_label(path: Path) -> LabelMap:
    """A label map; ImageFileError unless the file is complete, single-component and stored as integers.

    A float file is refused even when every value is whole (the contract says integer
    labels only, and ITK reads a NIfTI NaN as 0, so a float mask cannot be trusted).
    """
    image = _read(path)
    if image.GetNumberOfComponentsPerPixel() != 1:
        raise ImageFileError(path, "invalid_components",
                             f"{path}: {image.GetNumberOfComponentsPerPixel()} components per voxel; "
                             "expected a single-component label map")  # fmt: skip
    array = sitk.GetArrayFromImage(image)
    if not np.issubdtype(array.dtype, np.integer):
        if np.issubdtype(array.dtype, np.floating):
            n_bad = _count_non_finite(path, array)
            if n_bad:
                raise ImageFileError(path, "invalid_values",
                                     f"{path}: label map holds {n_bad} NaN or infinite voxel(s) (stored as "
                                     f"{array.dtype}); write integer labels (uint8) and no NaN")  # fmt: skip
        raise ImageFileError(path, "invalid_dtype",
                             f"{path}: label map is stored as {array.dtype} ({image.GetPixelIDTypeAsString()}); "
                             "labels must be an integer type: cast it, e.g. to uint8, before writing")  # fmt: skip
    return LabelMap(array, Geometry.of(image))
