"""Read 2D cine MR DICOM images and stack them into volumes by their tags.

Shared by the adapters whose raw data are DICOM cine series with contours
drawn on single images (sunnybrook, cine7t). Images are placed by
ImagePositionPatient / ImageOrientationPatient, never by file name:

- the slice normal is ``row direction × column direction`` of
  ImageOrientationPatient; a slice's position is ImagePositionPatient
  projected on that normal;
- a stack is sorted by ascending position, so the volume's z axis is the
  normal and the geometry is right-handed; the origin is the
  ImagePositionPatient of the first (lowest) slice;
- in-plane spacing is PixelSpacing = (row spacing, column spacing), i.e.
  ITK ``(x, y) = (PixelSpacing[1], PixelSpacing[0])``;
- the slice spacing is the (uniform) distance between positions; a single
  slice uses SpacingBetweenSlices, else SliceThickness.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pydicom

from harness.common.images import Geometry
from harness.errors import InputDataError

#: Slices closer than this along the normal are the same slice.
SAME_POSITION_TOL_MM = 0.05
#: Slice gaps may differ from their median by this fraction (or 0.1 mm) and still count as uniform.
GAP_TOL_FRACTION = 0.02


class SliceGapError(InputDataError):
    """The slices of a stack are not equally spaced (e.g. a missing slice)."""


@dataclass(frozen=True)
class DicomHeader:
    """The tags of one 2D MR image that conversion needs (pixel data not loaded)."""

    path: Path
    rows: int
    columns: int
    pixel_spacing_mm: tuple[float, float]  # (between rows = y, between columns = x), as DICOM stores it
    orientation: tuple[float, ...]  # ImageOrientationPatient: row direction (x) then column direction (y)
    position_mm: tuple[float, float, float]  # ImagePositionPatient: centre of the first pixel
    series_uid: str = ""
    series_number: int | None = None
    instance_number: int | None = None
    trigger_time_ms: float | None = None
    slice_location_mm: float | None = None
    slice_thickness_mm: float | None = None
    spacing_between_slices_mm: float | None = None
    cardiac_number_of_images: int | None = None
    phase_encoding_direction: str = ""
    manufacturer: str = ""
    institution: str = ""
    field_strength_t: float | None = None
    patient_id: str = ""

    @property
    def normal(self) -> np.ndarray:
        row, column = np.array(self.orientation[:3]), np.array(self.orientation[3:])
        return np.cross(row, column)

    @property
    def slice_position_mm(self) -> float:
        return float(np.dot(np.array(self.position_mm), self.normal))

    @property
    def series_key(self) -> str:
        """SeriesInstanceUID, or the SeriesNumber when the UID is missing."""
        return self.series_uid or f"series-number-{self.series_number}"


@contextmanager
def _quiet_pydicom() -> Iterator[None]:
    """Do not warn or log about non-conforming values (e.g. over-long UIDs, common in old scanner data)."""
    settings = pydicom.config.settings
    previous = settings.reading_validation_mode
    settings.reading_validation_mode = pydicom.config.IGNORE
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            yield
    finally:
        settings.reading_validation_mode = previous


def _number(ds: pydicom.Dataset, keyword: str, cast: type, path: Path) -> object:
    value = ds.get(keyword)
    if value is None or value == "":
        return None
    try:
        return cast(value)
    except (TypeError, ValueError) as err:
        raise InputDataError(f"{path}: DICOM tag {keyword} has an invalid value {value!r}") from err


def _vector(ds: pydicom.Dataset, keyword: str, length: int, path: Path) -> tuple[float, ...]:
    value = ds.get(keyword)
    if value is None or value == "":
        raise InputDataError(f"{path}: DICOM tag {keyword} is missing (needed to place the image)")
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError) as err:
        raise InputDataError(f"{path}: DICOM tag {keyword} has an invalid value {value!r}") from err
    if len(numbers) != length or not all(np.isfinite(numbers)):
        raise InputDataError(f"{path}: DICOM tag {keyword} should hold {length} numbers, has {value!r}")
    return numbers


def read_header(path: Path) -> DicomHeader:
    """Read one image's tags; a corrupt file or a missing geometry tag raises InputDataError."""
    with _quiet_pydicom():
        try:
            ds = pydicom.dcmread(path, stop_before_pixels=True)
        except Exception as err:  # noqa: BLE001 - pydicom raises many kinds of errors on corrupt files
            raise InputDataError(f"{path}: not a readable DICOM file ({type(err).__name__}: {err})") from err
        return _header_from_dataset(ds, path)


def _header_from_dataset(ds: pydicom.Dataset, path: Path) -> DicomHeader:
    for keyword in ("Rows", "Columns"):
        if ds.get(keyword) in (None, ""):
            raise InputDataError(f"{path}: DICOM tag {keyword} is missing")
    spacing = _vector(ds, "PixelSpacing", 2, path)
    if min(spacing) <= 0:
        raise InputDataError(f"{path}: PixelSpacing {spacing} must be positive")
    orientation = _vector(ds, "ImageOrientationPatient", 6, path)
    row, column = np.array(orientation[:3]), np.array(orientation[3:])
    if not (np.isclose(np.linalg.norm(row), 1, atol=1e-3) and np.isclose(np.linalg.norm(column), 1, atol=1e-3)
            and abs(float(np.dot(row, column))) < 1e-3):
        raise InputDataError(f"{path}: ImageOrientationPatient {orientation} is not two orthonormal directions")
    position = _vector(ds, "ImagePositionPatient", 3, path)
    return DicomHeader(
        path=path,
        rows=int(ds.Rows),
        columns=int(ds.Columns),
        pixel_spacing_mm=(spacing[0], spacing[1]),
        orientation=orientation,
        position_mm=(position[0], position[1], position[2]),
        series_uid=str(ds.get("SeriesInstanceUID", "") or ""),
        series_number=_number(ds, "SeriesNumber", int, path),  # type: ignore[arg-type]
        instance_number=_number(ds, "InstanceNumber", int, path),  # type: ignore[arg-type]
        trigger_time_ms=_number(ds, "TriggerTime", float, path),  # type: ignore[arg-type]
        slice_location_mm=_number(ds, "SliceLocation", float, path),  # type: ignore[arg-type]
        slice_thickness_mm=_number(ds, "SliceThickness", float, path),  # type: ignore[arg-type]
        spacing_between_slices_mm=_number(ds, "SpacingBetweenSlices", float, path),  # type: ignore[arg-type]
        cardiac_number_of_images=_number(ds, "CardiacNumberOfImages", int, path),  # type: ignore[arg-type]
        phase_encoding_direction=str(ds.get("InPlanePhaseEncodingDirection", "") or "").strip().upper(),
        manufacturer=str(ds.get("Manufacturer", "") or ""),
        institution=str(ds.get("InstitutionName", "") or ""),
        field_strength_t=_number(ds, "MagneticFieldStrength", float, path),  # type: ignore[arg-type]
        patient_id=str(ds.get("PatientID", "") or ""),
    )


def read_pixels(header: DicomHeader) -> np.ndarray:
    """The image's pixels as a (rows, columns) array, rescaled when the file says so."""
    path = header.path
    with _quiet_pydicom():
        try:
            ds = pydicom.dcmread(path)
            pixels = ds.pixel_array
        except Exception as err:  # noqa: BLE001 - truncated or undecodable pixel data
            raise InputDataError(f"{path}: pixel data cannot be read ({type(err).__name__}: {err})") from err
        slope = _number(ds, "RescaleSlope", float, path)
        intercept = _number(ds, "RescaleIntercept", float, path)
    if pixels.shape != (header.rows, header.columns):
        raise InputDataError(
            f"{path}: pixel data has shape {pixels.shape}, expected {header.rows}×{header.columns} "
            "(one frame of Rows × Columns)"
        )
    scale = 1.0 if slope is None else float(slope)  # type: ignore[arg-type]
    offset = 0.0 if intercept is None else float(intercept)  # type: ignore[arg-type]
    if scale != 1.0 or offset != 0.0:
        return (pixels.astype(np.float32) * scale + offset).astype(np.float32)
    return pixels


def check_same_plane_grid(headers: Sequence[DicomHeader]) -> None:
    """Raise if the images differ in size, pixel spacing or orientation (they cannot share one volume)."""
    first = headers[0]
    for other in headers[1:]:
        if (other.rows, other.columns) != (first.rows, first.columns):
            raise InputDataError(
                f"{other.path}: image is {other.rows}×{other.columns} (rows×columns) but {first.path.name} "
                f"is {first.rows}×{first.columns}; the slices of one stack must have one size"
            )
        if not np.allclose(other.pixel_spacing_mm, first.pixel_spacing_mm, rtol=1e-3, atol=1e-4):
            raise InputDataError(
                f"{other.path}: PixelSpacing {list(other.pixel_spacing_mm)} mm differs from "
                f"{list(first.pixel_spacing_mm)} mm of {first.path.name} (inconsistent spacing in one stack)"
            )
        if not np.allclose(other.orientation, first.orientation, atol=1e-3):
            raise InputDataError(
                f"{other.path}: ImageOrientationPatient {list(other.orientation)} differs from "
                f"{list(first.orientation)} of {first.path.name} (slices are not parallel)"
            )


def group_by_position(headers: Sequence[DicomHeader]) -> list[list[DicomHeader]]:
    """Group images by slice position along the common normal, lowest position first."""
    normal = headers[0].normal
    ordered = sorted(headers, key=lambda h: float(np.dot(h.position_mm, normal)))
    groups: list[list[DicomHeader]] = []
    last = -np.inf
    for header in ordered:
        position = float(np.dot(header.position_mm, normal))
        if position - last > SAME_POSITION_TOL_MM or not groups:
            groups.append([])
        groups[-1].append(header)
        last = position
    return groups


def stack_geometry(slices: Sequence[DicomHeader]) -> tuple[Geometry, list[str]]:
    """Geometry of a volume whose slices are ``slices`` (one header per slice, lowest position first).

    Returns the geometry and warnings (e.g. slices shifted in plane). Raises
    :class:`SliceGapError` when the slices are not equally spaced.
    """
    first = slices[0]
    normal = first.normal
    positions = np.array([np.dot(s.position_mm, normal) for s in slices])
    warnings: list[str] = []
    if len(slices) > 1:
        gaps = np.diff(positions)
        spacing_z = float(np.median(gaps))
        tolerance = max(GAP_TOL_FRACTION * spacing_z, 0.1)
        bad = np.flatnonzero(np.abs(gaps - spacing_z) > tolerance)
        if bad.size:
            k = int(bad[0])
            raise SliceGapError(
                f"{slices[k + 1].path}: slice at {positions[k + 1]:.2f} mm is {gaps[k]:.2f} mm from the previous "
                f"one ({slices[k].path.name}), the others are {spacing_z:.2f} mm apart: the slices are not "
                "equally spaced (missing or extra slice)"
            )
        offsets = np.array(slices[-1].position_mm) - np.array(first.position_mm)
        in_plane_mm = float(np.linalg.norm(offsets - np.dot(offsets, normal) * normal))
        if in_plane_mm > 0.5 * min(first.pixel_spacing_mm):
            warnings.append(
                f"the last slice is shifted {in_plane_mm:.2f} mm in plane relative to the first; "
                "the volume assumes the slices are stacked along the normal"
            )
    else:
        spacing_z = first.spacing_between_slices_mm or first.slice_thickness_mm or 1.0
        if not (first.spacing_between_slices_mm or first.slice_thickness_mm):
            warnings.append("single slice without SpacingBetweenSlices or SliceThickness: slice spacing set to 1 mm")
    row, column = np.array(first.orientation[:3]), np.array(first.orientation[3:])
    direction = np.column_stack([row, column, normal])  # columns = directions of the x, y, z axes
    geometry = Geometry(
        spacing_mm=(float(first.pixel_spacing_mm[1]), float(first.pixel_spacing_mm[0]), abs(spacing_z)),
        origin_mm=tuple(float(v) for v in first.position_mm),
        direction=tuple(float(v) for v in direction.ravel()),
    )
    return geometry, warnings
