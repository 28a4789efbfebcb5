"""Volume files (NIfTI, NRRD) for the acdc, mnms, brats2018 and la2018 adapters.

Reads 3D and 4D images through SimpleITK (which gives every format ITK's
LPS physical space, the common format's), cuts cine frames out of 4D
images with their 3D geometry, checks that files share a voxel grid and maps
raw label values to consecutive labels. Every problem is an
:class:`~harness.errors.InputDataError` naming the file.

Adapters import it as ``from segarena_datasets.shared import volumes``
(see datasets/README.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from harness.common.images import Geometry
from harness.errors import InputDataError

#: Two files share a voxel grid when spacing, origin and direction agree to this (mm / cosine).
GRID_TOLERANCE = 1e-4


from harness.common.integrity import check_nifti_complete  # noqa: E402  (shared with the harness's readers)


def read_volume(path: Path) -> sitk.Image:
    """Read a 3D or 4D image, or raise InputDataError saying why it cannot be read."""
    if not path.is_file():
        raise InputDataError(f"{path}: file not found")
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as err:
        lines = [line.strip() for line in str(err).strip().splitlines() if line.strip()]
        reason = lines[-1] if lines else "unreadable"
        raise InputDataError(f"{path}: cannot be read as an image, it may be truncated or corrupt ({reason})") from err
    if path.name.endswith((".nii", ".nii.gz")):
        check_nifti_complete(path)
    return image


def spatial_geometry(image: sitk.Image) -> Geometry:
    """The geometry of the first three axes (a 4D image's frames share it)."""
    dim = image.GetDimension()
    if dim == 3:
        return Geometry.of(image)
    direction = np.asarray(image.GetDirection(), dtype=float).reshape(dim, dim)[:3, :3]
    return Geometry(
        spacing_mm=tuple(float(s) for s in image.GetSpacing()[:3]),
        origin_mm=tuple(float(o) for o in image.GetOrigin()[:3]),
        direction=tuple(float(d) for d in direction.ravel()),
    )


def volume_array(image: sitk.Image, path: Path) -> np.ndarray:
    """The (z, y, x) array of a 3D image; a 4D image with one frame counts as 3D."""
    array = sitk.GetArrayFromImage(image)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3:
        raise InputDataError(f"{path}: expected a 3D volume, found {image.GetDimension()} dimensions of size {image.GetSize()}")
    return array


def cine_array(image: sitk.Image, path: Path) -> np.ndarray:
    """The (t, z, y, x) array of a 4D cine image."""
    if image.GetDimension() != 4:
        raise InputDataError(f"{path}: expected a 4D cine (x, y, slice, frame), found size {image.GetSize()}")
    return sitk.GetArrayFromImage(image)


def describe_grid(shape: tuple[int, ...], geometry: Geometry) -> str:
    def fmt(values: tuple[float, ...]) -> str:
        return "(" + ", ".join(f"{v:.6g}" for v in values) + ")"

    return (
        f"size {tuple(reversed(shape))}, spacing {fmt(geometry.spacing_mm)} mm, origin {fmt(geometry.origin_mm)} mm, "
        f"direction {fmt(geometry.direction)}"
    )


def check_same_grid(
    reference: Path, ref_shape: tuple[int, ...], ref_geometry: Geometry,
    path: Path, shape: tuple[int, ...], geometry: Geometry,
) -> None:
    """Raise InputDataError if ``path``'s voxel grid differs from ``reference``'s."""
    if shape != ref_shape or not geometry.matches(ref_geometry, tol=GRID_TOLERANCE):
        raise InputDataError(
            f"{path}: voxel grid differs from {reference.name}'s ({describe_grid(shape, geometry)} "
            f"vs {describe_grid(ref_shape, ref_geometry)}); the files of one case must share one grid"
        )


def integer_values(array: np.ndarray, path: Path) -> np.ndarray:
    """The array as integers; a float label file is accepted when it holds whole numbers only."""
    if np.issubdtype(array.dtype, np.integer) or array.dtype == bool:
        return array
    rounded = np.rint(array)
    if not np.array_equal(rounded, array):
        raise InputDataError(f"{path}: label file holds non-integer values (dtype {array.dtype})")
    return rounded.astype(np.int64)


def map_labels(array: np.ndarray, mapping: Mapping[int, int], path: Path, meaning: str) -> np.ndarray:
    """Map raw label values to the common format's (uint8); any other value is an error.

    ``meaning`` describes the accepted raw values for the message, e.g.
    "ACDC's 0 background, 1 RV, 2 MYO, 3 LV".
    """
    values = integer_values(array, path)
    found = np.unique(values)
    unknown = [int(v) for v in found if int(v) not in mapping]
    if unknown:
        counts = {v: int(np.count_nonzero(values == v)) for v in unknown[:5]}
        raise InputDataError(
            f"{path}: label values {unknown} are outside the label map (expected {meaning}); voxel counts {counts}"
        )
    lookup = np.zeros(int(found.max(initial=0)) + 1, dtype=np.uint8)
    for raw, new in mapping.items():
        if 0 <= raw < lookup.size:
            lookup[raw] = new
    return lookup[values.astype(np.int64)]
