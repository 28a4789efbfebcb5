"""Read one Data Science Bowl DICOM image: the header fields curation needs, then its pixels.

Every problem becomes an :class:`InputDataError` naming the file (relative to the
raw folder) and the tag or byte count at fault.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError
from pydicom.uid import ExplicitVRLittleEndian, ImplicitVRLittleEndian

from harness.errors import InputDataError

#: ``IM-<series>-<frame>.dcm`` or ``IM-<series>-<frame>-<nnnn>.dcm`` (several images of one frame in a folder)
FILE_NAME = re.compile(r"^IM-(?P<series>\d+)-(?P<frame>\d+)(?:-(?P<sub>\d+))?\.dcm$", re.IGNORECASE)
_RAW_SYNTAXES = {ExplicitVRLittleEndian, ImplicitVRLittleEndian}
_TAG = {
    "SeriesNumber": 0x00200011, "InstanceNumber": 0x00200013, "ImagePositionPatient": 0x00200032,
    "ImageOrientationPatient": 0x00200037, "SliceLocation": 0x00201041, "TriggerTime": 0x00181060,
    "PixelSpacing": 0x00280030, "SpacingBetweenSlices": 0x00180088, "Rows": 0x00280010, "Columns": 0x00280011,
    "BitsAllocated": 0x00280100, "PixelData": 0x7FE00010, "PatientAge": 0x00101010, "PatientSex": 0x00100040,
    "MagneticFieldStrength": 0x00180087, "Manufacturer": 0x00080070, "ManufacturerModelName": 0x00081090,
    "RescaleIntercept": 0x00281052, "RescaleSlope": 0x00281053,
}
_REQUIRED = ("SeriesNumber", "Rows", "Columns", "PixelSpacing", "ImagePositionPatient", "ImageOrientationPatient",
             "TriggerTime", "BitsAllocated", "PixelData")


@dataclass(eq=False)
class DicomImage:
    """One 2D cine image: where it lies, when in the cycle, and its (still encoded) pixels."""

    rel: str  # path relative to the raw folder, as reported in logs and cases.csv
    folder: str  # series folder name, e.g. sax_5
    series_number: int
    sub_index: int  # the <nnnn> of a 4-part file name, 0 otherwise
    instance_number: int
    rows: int
    columns: int
    pixel_spacing_mm: tuple[float, float]  # DICOM order: (between rows, between columns)
    orientation: tuple[float, ...]  # ImageOrientationPatient: row direction (x), then column direction (y)
    position_mm: tuple[float, float, float]
    slice_location_mm: float
    slice_location_from_position: bool  # SliceLocation was missing: projected from the position
    trigger_time_ms: float
    spacing_between_slices_mm: float | None
    dataset: pydicom.Dataset

    @property
    def acquisition_key(self) -> tuple[int, int, int]:
        """Orders images by acquisition: later series, later sub-series, later instance sort last."""
        return (self.series_number, self.sub_index, self.instance_number)

    def pixels(self) -> np.ndarray:
        """The stored image, shape (rows, columns), with any rescale slope/intercept applied."""
        return decode_pixels(self.dataset, self.rel)

    def patient_meta(self) -> dict[str, Any]:
        """Patient and scanner fields: age_years, sex, field_strength_t, vendor, model."""
        sex = (_text(self.dataset, "PatientSex") or "").upper()
        return {
            "age_years": parse_age_years(_text(self.dataset, "PatientAge")),
            "sex": sex if sex in ("M", "F", "O") else "",
            "field_strength_t": _optional_float(self.dataset, "MagneticFieldStrength"),
            "vendor": _text(self.dataset, "Manufacturer") or "",
            "model": _text(self.dataset, "ManufacturerModelName") or "",
        }


def _text(ds: pydicom.Dataset, keyword: str) -> str | None:
    """A text-VR value (DS, IS, CS, LO, AS) without pydicom's per-type conversion; None if absent or empty."""
    element = ds.get_item(_TAG[keyword])
    if element is None:
        return None
    value = element.value
    if isinstance(value, bytes):
        text = value.decode("latin-1")
    elif value is None:
        return None
    elif isinstance(value, str | int | float):
        text = str(value)
    else:  # an already converted multi-value
        text = "\\".join(str(v) for v in value)
    text = text.strip(" \x00")
    return text or None


def _numbers(ds: pydicom.Dataset, keyword: str, rel: str, count: int) -> tuple[float, ...]:
    text = _text(ds, keyword)
    try:
        values = tuple(float(v) for v in (text or "").split("\\"))
    except ValueError as err:
        raise InputDataError(f"{rel}: DICOM tag {keyword} has an unusable value {text!r} ({err})") from err
    if len(values) != count:
        raise InputDataError(f"{rel}: DICOM tag {keyword} holds {len(values)} number(s), {count} expected: {text!r}")
    return values


def _optional_float(ds: pydicom.Dataset, keyword: str) -> float | None:
    text = _text(ds, keyword)
    try:
        return float(text.split("\\")[0]) if text else None
    except ValueError:
        return None


def _integer(ds: pydicom.Dataset, keyword: str, rel: str) -> int:
    try:
        return int(ds[_TAG[keyword]].value)
    except (TypeError, ValueError) as err:
        raise InputDataError(f"{rel}: DICOM tag {keyword} has an unusable value ({err})") from err


def parse_age_years(value: str | None) -> float | None:
    """DICOM AS ``058Y``, ``010M``, ``020W`` or ``005D`` → years (None if absent or malformed)."""
    match = re.fullmatch(r"\s*(\d{1,3})\s*([DWMY])\s*", value or "")
    if not match:
        return None
    per_year = {"Y": 1.0, "M": 12.0, "W": 52.1775, "D": 365.25}[match[2]]
    return round(int(match[1]) / per_year, 3)


def read_dicom_image(path: Path, raw: Path) -> DicomImage:
    """Read the whole file once; pixel decoding waits for :meth:`DicomImage.pixels`."""
    rel = path.relative_to(raw).as_posix()
    try:
        ds = pydicom.dcmread(path)
    except InvalidDicomError as err:
        raise InputDataError(f"{rel}: not a DICOM file ({err})") from err
    except (OSError, EOFError, ValueError, KeyError, TypeError) as err:
        raise InputDataError(f"{rel}: corrupt DICOM file ({type(err).__name__}: {err})") from err
    missing = [k for k in _REQUIRED if _TAG[k] not in ds or (k != "PixelData" and _text(ds, k) is None
                                                                and k not in ("Rows", "Columns", "BitsAllocated"))]
    if missing:
        hint = " (the file may be truncated)" if missing == ["PixelData"] else ""
        raise InputDataError(f"{rel}: required DICOM tag(s) {', '.join(missing)} missing or empty{hint}")
    position = _numbers(ds, "ImagePositionPatient", rel, 3)
    orientation = _numbers(ds, "ImageOrientationPatient", rel, 6)
    (a, b, c), (d, e, f) = orientation[:3], orientation[3:]
    if not (abs(math.hypot(a, b, c) - 1) < 0.01 and abs(math.hypot(d, e, f) - 1) < 0.01
            and abs(a * d + b * e + c * f) < 0.01):
        raise InputDataError(f"{rel}: ImageOrientationPatient {list(orientation)} is not two orthogonal unit vectors")
    spacing = _numbers(ds, "PixelSpacing", rel, 2)
    if min(spacing) <= 0:
        raise InputDataError(f"{rel}: PixelSpacing {list(spacing)} must be positive")
    location = _optional_float(ds, "SliceLocation")
    from_position = location is None
    if location is None:  # position . (row direction x column direction)
        normal = (b * f - c * e, c * d - a * f, a * e - b * d)
        location = sum(p * n for p, n in zip(position, normal, strict=True))
    match = FILE_NAME.match(path.name)
    instance = _optional_float(ds, "InstanceNumber")
    trigger = _numbers(ds, "TriggerTime", rel, 1)[0]
    return DicomImage(
        rel=rel,
        folder=path.parent.name,
        series_number=int(_numbers(ds, "SeriesNumber", rel, 1)[0]),
        sub_index=int(match["sub"]) if match and match["sub"] else 0,
        instance_number=int(instance) if instance is not None else 0,
        rows=_integer(ds, "Rows", rel),
        columns=_integer(ds, "Columns", rel),
        pixel_spacing_mm=(spacing[0], spacing[1]),
        orientation=orientation,
        position_mm=(position[0], position[1], position[2]),
        slice_location_mm=location,
        slice_location_from_position=from_position,
        trigger_time_ms=trigger,
        spacing_between_slices_mm=_optional_float(ds, "SpacingBetweenSlices"),
        dataset=ds,
    )


def decode_pixels(ds: pydicom.Dataset, rel: str) -> np.ndarray:
    """Pixels of an uncompressed image straight from the buffer; pydicom's handlers otherwise."""
    rows, columns = int(ds.Rows), int(ds.Columns)
    bits = int(ds.BitsAllocated)
    signed = int(ds.get("PixelRepresentation", 0)) == 1
    stored = int(ds.get("BitsStored", bits))
    syntax = ds.file_meta.get("TransferSyntaxUID") if hasattr(ds, "file_meta") else None
    if syntax in _RAW_SYNTAXES and int(ds.get("SamplesPerPixel", 1)) == 1 and bits in (8, 16, 32) and not (
        signed and stored < bits
    ):
        dtype = np.dtype(f"<{'i' if signed else 'u'}{bits // 8}")
        buffer = ds.PixelData
        expected = rows * columns * dtype.itemsize
        if len(buffer) < expected:
            raise InputDataError(
                f"{rel}: pixel data truncated: {len(buffer)} bytes, {expected} expected for {rows}x{columns}x{bits} bit"
            )
        array = np.frombuffer(buffer, dtype=dtype, count=rows * columns).reshape(rows, columns)
        if stored < bits:
            array = array & np.array((1 << stored) - 1, dtype=dtype)
    else:
        try:
            array = ds.pixel_array
        except Exception as err:  # pydicom's decoders raise many types; all mean "cannot decode"
            raise InputDataError(f"{rel}: pixel data cannot be decoded ({type(err).__name__}: {err})") from err
        if array.shape != (rows, columns):
            raise InputDataError(f"{rel}: pixel data has shape {array.shape}, expected ({rows}, {columns}) (one frame)")
    slope = _optional_float(ds, "RescaleSlope")
    intercept = _optional_float(ds, "RescaleIntercept")
    if (slope not in (None, 1.0)) or (intercept not in (None, 0.0)):
        array = array.astype(np.float32) * np.float32(slope or 1.0) + np.float32(intercept or 0.0)
    return array
