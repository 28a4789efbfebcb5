"""Synthetic Kaggle DSB raw data: real DICOM files in the DSB layout, with the volumes the adapter must produce.

Every slice of a synthetic subject lies on a known plane (an oblique short-axis
orientation); pixel (r, c) of slice k at frame t holds ``200 k + 10 t + (13 r + 7 c) % 10``
(or ``200 k + 10 t`` for "flat" slices, which survive interpolation exactly),
so order, orientation and copies can be checked value by value. 12-bit unsigned
data as in the DSB release; the benchmark tree uses 16-bit signed data.

:func:`write_dataset` writes the test tree (good subjects with every curation
quirk, plus broken ones) and returns what each converted subject must be;
:func:`write_bench_tree` writes plain subjects for the speed benchmark.
"""

from __future__ import annotations

import csv
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

from harness.common.images import Geometry

X_AXIS = (0.6, 0.8, 0.0)  # ImageOrientationPatient row direction (increasing column index)
Y_AXIS = (0.0, 0.0, -1.0)  # column direction (increasing row index)


@dataclass(frozen=True)
class Patient:
    patient_id: str
    age: str = "058Y"
    sex: str = "M"
    field_strength_t: float = 1.5
    vendor: str = "SIEMENS"
    model: str = "Aera"


@dataclass(frozen=True)
class Canon:
    """The regular stack a subject would be without quirks; slice k sits k spacings along the normal."""

    rows: int = 16
    columns: int = 12
    spacing_mm: tuple[float, float] = (1.25, 1.25)  # DICOM order (between rows, between columns)
    slice_spacing_mm: float = 10.0
    n_slices: int = 5
    n_frames: int = 4
    first_position: tuple[float, float, float] = (-20.0, 30.0, 40.0)
    location_sign: float = 1.0  # SliceLocation = sign * position . normal
    x: tuple[float, float, float] = X_AXIS
    y: tuple[float, float, float] = Y_AXIS

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.x, self.y)

    @property
    def orientation(self) -> tuple[float, ...]:
        return (*self.x, *self.y)

    def position(self, k: float) -> np.ndarray:
        return np.asarray(self.first_position) + k * self.slice_spacing_mm * self.normal

    def location(self, k: float) -> float:
        return round(float(self.location_sign * (self.position(k) @ self.normal)), 4)

    def content(self, k: int, t: int, offset: int = 0, flat: bool = False) -> np.ndarray:
        r, c = np.meshgrid(np.arange(self.rows), np.arange(self.columns), indexing="ij")
        pattern = 0 * r if flat else (13 * r + 7 * c) % 10
        return (200 * k + 10 * t + offset + pattern).astype(np.uint16)

    def trigger(self, k: int, t: int) -> float:
        return round(20.0 + 35.0 * t + 0.3 * k, 2)

    def geometry(self) -> Geometry:
        dr, dc = self.spacing_mm
        return Geometry((dc, dr, self.slice_spacing_mm), tuple(float(v) for v in self.position(0)),
                        tuple(float(v) for v in np.column_stack([self.x, self.y, self.normal]).ravel()))


@dataclass
class ExpectedSubject:
    """A converted subject: its volume (frames, slices, rows, columns), geometry and truth."""

    subject: str
    patient_id: str
    set: str
    volume: np.ndarray
    geometry: Geometry
    edv_ml: float | None
    esv_ml: float | None
    problems: list[str] = field(default_factory=list)  # conversion-log problems expected for it


def write_image(path: Path, pixels: np.ndarray, patient: Patient, *, series: int, instance: int,
                position: Sequence[float], orientation: Sequence[float], spacing_mm: Sequence[float],
                location: float | None, trigger_ms: float, n_frames: int, bits_stored: int = 12,
                omit: Sequence[str] = (), slice_thickness_mm: float = 8.0) -> None:
    """One DSB-like MR image (Explicit VR Little Endian, unsigned 12-bit or signed 16-bit)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.PatientID = patient.patient_id
    ds.PatientAge = patient.age
    ds.PatientSex = patient.sex
    ds.Manufacturer = patient.vendor
    ds.ManufacturerModelName = patient.model
    ds.MagneticFieldStrength = patient.field_strength_t
    ds.StudyInstanceUID = "1.2.826.0.1.3680043.8.498." + str(zlib.crc32(patient.patient_id.encode()))
    ds.SeriesInstanceUID = ds.StudyInstanceUID + f".{series}"
    ds.SeriesDescription = "sax"
    ds.SeriesNumber = series
    ds.InstanceNumber = instance
    ds.AcquisitionNumber = 1
    ds.ImagePositionPatient = [round(float(v), 4) for v in position]
    ds.ImageOrientationPatient = [round(float(v), 6) for v in orientation]
    ds.PixelSpacing = [float(v) for v in spacing_mm]
    ds.SliceThickness = slice_thickness_mm
    if location is not None:
        ds.SliceLocation = location
    ds.TriggerTime = trigger_ms
    ds.CardiacNumberOfImages = n_frames
    ds.InPlanePhaseEncodingDirection = "ROW"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = pixels.shape
    ds.BitsAllocated = 16
    ds.BitsStored = bits_stored
    ds.HighBit = bits_stored - 1
    ds.PixelRepresentation = 1 if pixels.dtype == np.int16 else 0
    ds.PixelData = np.ascontiguousarray(pixels.astype(pixels.dtype.newbyteorder("<"))).tobytes()
    for keyword in omit:
        delattr(ds, keyword)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def file_name(series: int, frame: int, sub: int = 0) -> str:
    return f"IM-{series:04d}-{frame:04d}" + (f"-{sub:04d}" if sub else "") + ".dcm"


def write_stack(study: Path, folder: str, series: int, frames: Sequence[np.ndarray], triggers: Sequence[float],
                patient: Patient, *, position: Sequence[float], orientation: Sequence[float],
                spacing_mm: Sequence[float], location: float | None, sub: int = 0,
                frame_numbers: Sequence[int] | None = None, n_frames: int | None = None, **kwargs: object) -> list[Path]:
    """One slice: a file per frame, named IM-<series>-<frame>[-<sub>].dcm."""
    numbers = list(frame_numbers or range(1, len(frames) + 1))
    paths = []
    for pixels, trigger, number in zip(frames, triggers, numbers, strict=True):
        path = study / folder / file_name(series, number, sub)
        write_image(path, pixels, patient, series=series, instance=number + 100 * sub, position=position,
                    orientation=orientation, spacing_mm=spacing_mm, location=location, trigger_ms=trigger,
                    n_frames=n_frames or len(frames), **kwargs)  # type: ignore[arg-type]
        paths.append(path)
    return paths


def write_canon_slice(study: Path, canon: Canon, patient: Patient, k: int, *, folder: str | None = None,
                      series: int | None = None, offset: int = 0, flat: bool = False,
                      frames: Sequence[int] | None = None, **kwargs: object) -> list[Path]:
    """Slice k of the canonical stack, as its own series (folder sax_<5+k>, series 100+k by default)."""
    ts = list(frames if frames is not None else range(canon.n_frames))
    return write_stack(
        study, folder or f"sax_{5 + k}", series if series is not None else 100 + k,
        [canon.content(k, t, offset, flat) for t in ts], [canon.trigger(k, t) for t in ts], patient,
        position=canon.position(k), orientation=canon.orientation, spacing_mm=canon.spacing_mm,
        location=canon.location(k), frame_numbers=[t + 1 for t in ts], n_frames=canon.n_frames, **kwargs,
    )


def canon_volume(canon: Canon, offset: int = 0, flat: bool = False) -> np.ndarray:
    return np.stack([np.stack([canon.content(k, t, offset, flat) for k in range(canon.n_slices)])
                     for t in range(canon.n_frames)])


def rotated90(volume: np.ndarray, geometry: Geometry) -> tuple[np.ndarray, Geometry]:
    """The expected ``_rot90`` copy, derived independently of the adapter's code."""
    columns = volume.shape[-1]
    out = np.rot90(volume, 1, axes=(-2, -1))
    d = np.asarray(geometry.direction).reshape(3, 3)
    x, y, z = d[:, 0], d[:, 1], d[:, 2]
    dx, dy, dz = geometry.spacing_mm
    origin = np.asarray(geometry.origin_mm) + (columns - 1) * dx * x
    return out, Geometry((dy, dx, dz), tuple(origin), tuple(np.column_stack([y, -x, z]).ravel()))


TRUTH = {  # Id: (Systole = ESV, Diastole = EDV) in mL
    "1": (60.5, 150.25), "2": (40.0, 100.0), "3": (55.0, 130.0), "4": (70.0, 160.0),
    "900": (1.0, 2.0), "901": (1.0, 2.0), "902": (1.0, 2.0), "903": (1.0, 2.0), "904": (1.0, 2.0),
    "501": (80.0, 190.0), "502": (35.5, 90.5),
    "701": (45.0, 120.0), "702": (20.0, 60.0),
}
SETS = {"train": ["1", "2", "3", "4", "900", "901", "902", "903", "904"], "validate": ["501", "502"],
        "test": ["701", "702"]}


def write_truth(raw: Path) -> None:
    raw.mkdir(parents=True, exist_ok=True)
    for set_name in ("train", "validate"):
        with (raw / f"{set_name}.csv").open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["Id", "Systole", "Diastole"])
            for patient in SETS[set_name]:
                writer.writerow([patient, *TRUTH[patient]])
    with (raw / "solution.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Id", "Volume", "Usage"])
        for i, patient in enumerate(SETS["test"]):
            esv, edv = TRUTH[patient]
            usage = "Public" if i == 0 else "Private"
            writer.writerow([f"{patient}_Diastole", edv, usage])
            writer.writerow([f"{patient}_Systole", esv, usage])


def _expected(subject: str, set_name: str, volume: np.ndarray, geometry: Geometry, problems: list[str]) -> ExpectedSubject:
    patient = subject.split("_")[0]
    esv, edv = TRUTH.get(patient, (None, None))
    return ExpectedSubject(subject, patient, set_name, volume, geometry, edv, esv, problems)


def write_dataset(raw: Path) -> dict[str, ExpectedSubject]:
    """The test tree: every curation quirk once, plus broken subjects 900-904. Returns the expected subjects."""
    write_truth(raw)
    expected: dict[str, ExpectedSubject] = {}
    for writer in (_subject_1, _subject_2, _subject_3, _subject_501, _subject_502, _subject_701, _subject_702,
                   _subject_703):
        for item in writer(raw):
            expected[item.subject] = item
    write_broken_subjects(raw)
    return expected


def _subject_1(raw: Path) -> list[ExpectedSubject]:
    """Plain, but SliceLocation runs against the normal, file numbers are not in TriggerTime order, a 2ch series."""
    canon = Canon(location_sign=-1.0)
    patient = Patient("1")
    study = raw / "train" / "1" / "study"
    for k in range(canon.n_slices):
        if k == 2:  # files numbered 3, 1, 4, 2 in trigger order
            frames = [canon.content(k, t) for t in range(4)]
            write_stack(study, "sax_7", 102, frames, [canon.trigger(k, t) for t in range(4)], patient,
                        position=canon.position(k), orientation=canon.orientation, spacing_mm=canon.spacing_mm,
                        location=canon.location(k), frame_numbers=[3, 1, 4, 2])
        else:
            write_canon_slice(study, canon, patient, k)
    write_image(study / "2ch_20" / file_name(300, 1), canon.content(0, 0), patient, series=300, instance=1,
                position=(0, 0, 0), orientation=(0, 1, 0, 0, 0, -1), spacing_mm=(1.25, 1.25), location=0.0,
                trigger_ms=20.0, n_frames=4)
    return [_expected("1", "train", canon_volume(canon), canon.geometry(), [])]


def _subject_2(raw: Path) -> list[ExpectedSubject]:
    """Rows < Columns: the subject and a rotated copy 2_rot90."""
    canon = Canon(rows=12, columns=16, n_slices=3, n_frames=3)
    study = raw / "train" / "2" / "study"
    for k in range(canon.n_slices):
        write_canon_slice(study, canon, Patient("2", age="034Y", sex="F"), k)
    volume = canon_volume(canon)
    rotated, geometry = rotated90(volume, canon.geometry())
    return [_expected("2", "train", volume, canon.geometry(), ["rows < columns"]),
            _expected("2_rot90", "train", rotated, geometry, [])]


def _subject_3(raw: Path) -> list[ExpectedSubject]:
    """A complete repeat: single-slice series sax_5..8, then the whole stack again in sax_9 (4-part names)."""
    canon = Canon(n_slices=4, n_frames=3)
    patient = Patient("3")
    study = raw / "train" / "3" / "study"
    for k in range(canon.n_slices):
        write_canon_slice(study, canon, patient, k)
        write_canon_slice(study, canon, patient, k, folder="sax_9", series=200, offset=2000, sub=k + 1)
    return [_expected("3_a", "train", canon_volume(canon), canon.geometry(), ["repeated complete series"]),
            _expected("3_b", "train", canon_volume(canon, offset=2000), canon.geometry(), [])]


def _subject_501(raw: Path) -> list[ExpectedSubject]:
    """Doubled folder validate/validate; duplicate locations within a series (4-part names) and across series."""
    canon = Canon(n_slices=4, n_frames=3)
    patient = Patient("501")
    study = raw / "validate" / "validate" / "501" / "study"
    for k in range(canon.n_slices):
        if k == 1:  # IM-0101-000f-0001 (earlier, dropped) and IM-0101-000f-0002 at the same location
            write_canon_slice(study, canon, patient, k, offset=1000, sub=1)
            write_canon_slice(study, canon, patient, k, sub=2)
        elif k == 2:  # re-acquired later as series 300
            write_canon_slice(study, canon, patient, k, offset=1500)
            write_canon_slice(study, canon, patient, k, folder="sax_20", series=300)
        else:
            write_canon_slice(study, canon, patient, k)
    return [_expected("501", "validate", canon_volume(canon), canon.geometry(), ["duplicate slice location"])]


def _subject_502(raw: Path) -> list[ExpectedSubject]:
    """Larger than 256 px (320 x 300 at 0.7 mm): downscaled by 0.8 to 256 x 240 at 0.875 mm."""
    canon = Canon(rows=320, columns=300, spacing_mm=(0.7, 0.7), n_slices=2, n_frames=2)
    study = raw / "validate" / "validate" / "502" / "study"
    for k in range(canon.n_slices):
        write_canon_slice(study, canon, Patient("502"), k, flat=True)
    small = replace(canon, rows=256, columns=240, spacing_mm=(0.875, 0.875))
    centre = canon.position(0) + 149.5 * 0.7 * np.asarray(canon.x) + 159.5 * 0.7 * np.asarray(canon.y)
    origin = centre - 119.5 * 0.875 * np.asarray(canon.x) - 127.5 * 0.875 * np.asarray(canon.y)
    geometry = replace(small.geometry(), origin_mm=tuple(float(v) for v in origin))
    return [_expected("502", "validate", canon_volume(small, flat=True), geometry, ["image larger than 256 px"])]


def _subject_701(raw: Path) -> list[ExpectedSubject]:
    """Slice 1 rotated 90° in-plane, 2 two rows larger, 3 missing frame 2, 4 missing, 5 at half resolution,
    and a tilted (non-parallel) slice."""
    canon = Canon(n_slices=6, n_frames=4)
    patient = Patient("701", age="071Y", sex="F")
    study = raw / "test" / "701" / "study"
    x, y = np.asarray(canon.x), np.asarray(canon.y)
    dr, dc = canon.spacing_mm
    write_canon_slice(study, canon, patient, 0)
    ts = range(canon.n_frames)
    write_stack(study, "sax_6", 101, [np.rot90(canon.content(1, t)) for t in ts], [canon.trigger(1, t) for t in ts],
                patient, position=canon.position(1) + (canon.columns - 1) * dc * x, orientation=(*y, *(-x)),
                spacing_mm=(dc, dr), location=canon.location(1))
    junk = np.full((1, canon.columns), 4000, dtype=np.uint16)
    write_stack(study, "sax_7", 102, [np.vstack([junk, canon.content(2, t), junk]) for t in ts],
                [canon.trigger(2, t) for t in ts], patient, position=canon.position(2) - dr * y,
                orientation=canon.orientation, spacing_mm=canon.spacing_mm, location=canon.location(2))
    write_canon_slice(study, canon, patient, 3, frames=[0, 1, 3])
    centre = canon.position(5) + (canon.columns - 1) / 2 * dc * x + (canon.rows - 1) / 2 * dr * y
    write_stack(study, "sax_10", 105, [np.full((8, 6), 200 * 5 + 10 * t, dtype=np.uint16) for t in ts],
                [canon.trigger(5, t) for t in ts], patient, position=centre - 2.5 * 2 * dc * x - 3.5 * 2 * dr * y,
                orientation=canon.orientation, spacing_mm=(2 * dr, 2 * dc), location=canon.location(5))
    tilt = np.cos(np.radians(30)) * y + np.sin(np.radians(30)) * canon.normal
    write_stack(study, "sax_30", 400, [canon.content(9, t) for t in ts], [canon.trigger(9, t) for t in ts], patient,
                position=canon.position(2.5), orientation=(*x, *tilt), spacing_mm=canon.spacing_mm,
                location=canon.location(2.5))
    volume = canon_volume(canon)
    volume[2, 3] = volume[1, 3]  # missing frame: the previous frame copied
    volume[:, 4] = volume[:, 3]  # missing slice: the previous slice copied
    volume[:, 5] = canon_volume(canon, flat=True)[:, 5]
    problems = ["rotated slice plane", "image size mismatch", "missing frame", "missing slice",
                "pixel spacing mismatch", "non-parallel slice"]
    return [_expected("701", "test", volume, canon.geometry(), problems)]


def _subject_702(raw: Path) -> list[ExpectedSubject]:
    """No SliceLocation tags; an interspersed slice and an outlying slice; a 10-month-old at 3 T."""
    canon = Canon(n_slices=5, n_frames=2)
    patient = Patient("702", age="010M", sex="F", field_strength_t=3.0, model="Skyra")
    study = raw / "test" / "702" / "study"
    omit = ("SliceLocation",)
    for k in range(canon.n_slices):
        write_canon_slice(study, canon, patient, k, omit=omit)
    write_canon_slice(study, replace(canon, first_position=tuple(canon.position(0.4))), patient, 2, folder="sax_40",
                      series=500, offset=3000, omit=omit)
    write_canon_slice(study, replace(canon, first_position=tuple(canon.position(4))), patient, 4, folder="sax_41",
                      series=501, offset=3000, omit=omit)
    return [_expected("702", "test", canon_volume(canon), canon.geometry(),
                      ["SliceLocation missing", "interspersed slice", "slice spacing outlier"])]


def _subject_703(raw: Path) -> list[ExpectedSubject]:
    """A test patient that solution.csv does not list."""
    canon = Canon(n_slices=2, n_frames=2)
    study = raw / "test" / "703" / "study"
    for k in range(canon.n_slices):
        write_canon_slice(study, canon, Patient("703"), k)
    return [_expected("703", "test", canon_volume(canon), canon.geometry(), ["no truth volumes"])]


#: broken subject → words its error message must contain
BROKEN = {
    "900": ["sax_6/IM-0101-0002.dcm", "pixel data truncated"],
    "901": ["sax_5/IM-0100-0001.dcm", "not a DICOM file"],
    "902": ["sax_6/IM-0101-0001.dcm", "PixelSpacing", "missing"],
    "903": ["sax_5/IM-0100-0002.dcm", "inconsistent spacing", "PixelSpacing"],
    "904": ["904/study", "no short-axis DICOM files"],
}


def write_broken_subjects(raw: Path) -> None:
    canon = Canon(n_slices=2, n_frames=2)
    for patient_id in BROKEN:
        study = raw / "train" / patient_id / "study"
        patient = Patient(patient_id)
        if patient_id == "904":
            write_image(study / "2ch_1" / file_name(300, 1), canon.content(0, 0), patient, series=300, instance=1,
                        position=(0, 0, 0), orientation=(0, 1, 0, 0, 0, -1), spacing_mm=(1.25, 1.25),
                        location=0.0, trigger_ms=20.0, n_frames=2)
            continue
        for k in range(canon.n_slices):
            write_canon_slice(study, canon, patient, k, omit=("PixelSpacing",) if patient_id == "902" and k == 1 else ())
        if patient_id == "900":
            path = study / "sax_6" / file_name(101, 2)
            path.write_bytes(path.read_bytes()[:-100])
        elif patient_id == "901":
            (study / "sax_5" / file_name(100, 1)).write_bytes(b"this is not a DICOM file\n" * 20)
        elif patient_id == "903":
            path = study / "sax_5" / file_name(100, 2)
            ds = pydicom.dcmread(path)
            ds.PixelSpacing = [1.5, 1.5]
            ds.save_as(path)


def write_bench_tree(raw: Path, n_subjects: int = 20, n_slices: int = 10, n_frames: int = 30, size: int = 256,
                     seed: int = 0) -> int:
    """Plain DSB-like subjects of 16-bit signed images (a smooth disc plus noise); returns the DICOM bytes written."""
    rng = np.random.default_rng(seed)
    canon = Canon(rows=size, columns=size, n_slices=n_slices, n_frames=n_frames, spacing_mm=(1.4, 1.4))
    r, c = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    disc = 800.0 * np.exp(-(((r - size / 2) ** 2 + (c - size / 2) ** 2) / (2 * (size / 6) ** 2)))
    rows = []
    raw.mkdir(parents=True, exist_ok=True)
    for i in range(n_subjects):
        patient_id = str(i + 1)
        study = raw / "train" / patient_id / "study"
        patient = Patient(patient_id)
        for k in range(n_slices):
            frames = [(disc * (1 + 0.2 * np.sin(2 * np.pi * t / n_frames)) + rng.integers(0, 60, (size, size)))
                      .astype(np.int16) for t in range(n_frames)]
            write_stack(study, f"sax_{5 + k}", 100 + k, frames, [canon.trigger(k, t) for t in range(n_frames)],
                        patient, position=canon.position(k), orientation=canon.orientation,
                        spacing_mm=canon.spacing_mm, location=canon.location(k), bits_stored=16)
        rows.append([patient_id, 50.0 + i, 120.0 + i])
    with (raw / "train.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Id", "Systole", "Diastole"])
        writer.writerows(rows)
    return sum(p.stat().st_size for p in raw.rglob("*.dcm"))
