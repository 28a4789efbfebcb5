"""Write a tiny spinal-muscle slice dataset: real MR DICOM slices (pydicom) and PNG/JPG/NPY ROI-id labels.

Layout: ``<root>/dicoms/<name>.dcm`` and ``<root>/labels/<name>.(png|jpg|npy)``. ROI ids are deliberately
not consecutive (0 background, 50, 100, 150 muscles; 200 appears in one sample only).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

ROWS, COLUMNS = 40, 48
ROI_IDS = (0, 50, 100, 150)


@dataclass(frozen=True)
class SpineSample:
    name: str
    patient_id: str
    image: np.ndarray  # (rows, columns) uint16
    roi: np.ndarray | None  # (rows, columns) ROI ids, None without a label file
    label_suffix: str  # ".png", ".jpg", ".npy" or ""
    pixel_spacing: tuple[float, float]  # DICOM order: (row spacing, column spacing)
    thickness_mm: float
    position: tuple[float, float, float]
    orientation: tuple[float, ...]  # DICOM ImageOrientationPatient (row cosines, column cosines)


def roi_map(seed: int, extra_roi: int | None = None) -> np.ndarray:
    """Four muscle blobs (left/right pairs) with ROI ids 50, 100, 150 on background 0."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:ROWS, 0:COLUMNS]
    roi = np.zeros((ROWS, COLUMNS), np.uint8)
    for roi_id, (cy, cx, ry, rx) in zip(
        (50, 100, 150), ((14, 12, 5, 6), (14, 34, 5, 6), (28, 24, 6, 10)), strict=True
    ):
        cy += rng.uniform(-1, 1)
        cx += rng.uniform(-1, 1)
        roi[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 <= 1] = roi_id
    if extra_roi is not None:
        roi[2:6, 2:6] = extra_roi
    return roi


def write_dicom(
    path: Path, image: np.ndarray, patient_id: str, *, pixel_spacing: tuple[float, float], thickness_mm: float,
    position: tuple[float, float, float], orientation: tuple[float, ...], instance: int, drop: tuple[str, ...] = (),
) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    ds.PatientID = patient_id
    ds.PatientName = f"Anon^{patient_id}"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 3
    ds.InstanceNumber = instance
    ds.Manufacturer = "SIEMENS"
    ds.MagneticFieldStrength = 3.0
    ds.SliceThickness = thickness_mm
    ds.SliceLocation = position[2]
    ds.PixelSpacing = list(pixel_spacing)
    ds.ImagePositionPatient = list(position)
    ds.ImageOrientationPatient = list(orientation)
    ds.Rows, ds.Columns = image.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.PixelData = image.astype("<u2").tobytes()
    for keyword in drop:
        delattr(ds, keyword)
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def write_label(path: Path, roi: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".npy":
        np.save(path, roi.astype(np.int16))
    elif path.suffix == ".jpg":
        Image.fromarray(roi.astype(np.uint8), mode="L").save(path, quality=75)
    else:
        Image.fromarray(roi.astype(np.uint8), mode="L").save(path)


def write_sample(
    root: Path, name: str, patient_id: str, seed: int, label_suffix: str, *, extra_roi: int | None = None,
    orientation: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0), drop: tuple[str, ...] = (),
) -> SpineSample:
    rng = np.random.default_rng(seed)
    roi = roi_map(seed, extra_roi)
    image = (200 + 4 * roi.astype(np.int32) + rng.integers(0, 40, roi.shape)).astype(np.uint16)
    spacing, thickness, position = (0.78125, 0.8), 4.0, (-18.5, -16.0, 40.0 + seed)
    write_dicom(root / "dicoms" / f"{name}.dcm", image, patient_id, pixel_spacing=spacing, thickness_mm=thickness,
                position=position, orientation=orientation, instance=seed, drop=drop)
    if label_suffix:
        write_label(root / "labels" / f"{name}{label_suffix}", roi)
    return SpineSample(name, patient_id, image, roi if label_suffix else None, label_suffix, spacing, thickness,
                       position, orientation)


def write_spine_slices(root: Path) -> dict[str, SpineSample]:
    """Two patients, six slices: PNG, NPY and JPEG labels, ROI 200 in one sample, one slice without a label."""
    oblique = (1.0, 0.0, 0.0, 0.0, np.cos(0.2), -np.sin(0.2))
    samples = [
        write_sample(root, "P001_L3", "SPINE-001", 1, ".png"),
        write_sample(root, "P001_L4", "SPINE-001", 2, ".png", orientation=oblique),
        write_sample(root, "P001_L5", "SPINE-001", 3, ".jpg"),
        write_sample(root, "P002_L3", "SPINE-002", 4, ".npy"),
        write_sample(root, "P002_L4", "SPINE-002", 5, ".png", extra_roi=200),
        write_sample(root, "P002_L5", "SPINE-002", 6, ""),
    ]
    return {s.name: s for s in samples}


def add_bad_samples(root: Path) -> dict[str, str]:
    """Broken samples of patient SPINE-003 (its good slice P003_L1 converts); returns name → file to name."""
    bad: dict[str, str] = {}
    write_sample(root, "P003_L1", "SPINE-003", 11, ".png")
    s = write_sample(root, "P003_L2", "SPINE-003", 12, ".png")  # truncated DICOM
    path = root / "dicoms" / f"{s.name}.dcm"
    path.write_bytes(path.read_bytes()[:-300])
    bad[s.name] = str(path)
    s = write_sample(root, "P003_L3", "SPINE-003", 13, ".png", drop=("PixelSpacing",))
    bad[s.name] = str(root / "dicoms" / f"{s.name}.dcm")
    s = write_sample(root, "P003_L4", "SPINE-003", 14, ".png")  # label of another size
    write_label(root / "labels" / f"{s.name}.png", s.roi[:, :-4])
    bad[s.name] = str(root / "labels" / f"{s.name}.png")
    s = write_sample(root, "P003_L5", "SPINE-003", 15, ".png")  # truncated PNG
    path = root / "labels" / f"{s.name}.png"
    path.write_bytes(path.read_bytes()[:60])
    bad[s.name] = str(path)
    write_label(root / "labels" / "P009_L1.png", roi_map(16))  # a label whose image does not exist
    bad["P009_L1"] = "labels/P009_L1.png"
    return bad
