"""Synthetic Sunnybrook raw data in the three layouts the adapter accepts, with known masks.

Each case is a short-axis cine stack of ``n_slices`` × ``n_phases`` real MR DICOM
images (pydicom, with the tags the scanner writes) showing a bright blood pool
inside a darker myocardial ring. The contour files are 64-vertex polygons on
circles of known radius, written the way the challenge wrote them (``x y``
with two decimals, one point per line, not closed). ``expected_label``
rasterises them with an independent oracle (matplotlib's point-in-polygon
test on the integer pixel centres), so the adapter's masks can be compared
pixel by pixel and its volumes checked against ``π r²``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pydicom
from matplotlib.path import Path as MplPath
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid

ROW_DIRECTION = (0.8, 0.6, 0.0)  # ImageOrientationPatient, first triple: along a row (x)
COLUMN_DIRECTION = (0.0, 0.0, -1.0)  # second triple: down a column (y)
NORMAL = tuple(np.cross(ROW_DIRECTION, COLUMN_DIRECTION).tolist())  # (-0.6, 0.8, 0)
BASE_POSITION_MM = (10.0, -20.0, 30.0)
BLOOD, MUSCLE, BACKGROUND = 500, 120, 30


def write_mr_dicom(path: Path, pixels: np.ndarray, **tags: object) -> None:
    """Write one 2D MR image (int16, explicit VR little endian) with ``tags`` (pydicom keywords)."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    sop_uid = generate_uid()
    meta.MediaStorageSOPInstanceUID = sop_uid
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = sop_uid
    ds.Modality = "MR"
    pixels = np.ascontiguousarray(pixels.astype(np.int16))
    ds.Rows, ds.Columns = pixels.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    ds.PixelData = pixels.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    ds.save_as(path, enforce_file_format=True)


def circle_points(centre_xy: tuple[float, float], radius: float, n: int = 64) -> np.ndarray:
    """Polygon vertices on a circle, rounded to 2 decimals as the contour files store them."""
    angles = np.linspace(0, 2 * np.pi, n, endpoint=False)
    points = np.column_stack([centre_xy[0] + radius * np.cos(angles), centre_xy[1] + radius * np.sin(angles)])
    return np.round(points, 2)


def oracle_fill(points_xy: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Pixels whose (integer) centre is inside the polygon, by matplotlib: independent of the adapter."""
    rows, columns = shape
    yy, xx = np.mgrid[0:rows, 0:columns]
    inside = MplPath(points_xy).contains_points(np.column_stack([xx.ravel(), yy.ravel()]))
    return inside.reshape(shape)


def pad_case(case: str) -> str:
    """``SC-HF-I-1`` → ``SC-HF-I-01`` (the contour folders' spelling)."""
    stem, number = case.rsplit("-", 1)
    return f"{stem}-{int(number):02d}"


@dataclass(frozen=True)
class SyntheticCase:
    case: str = "SC-HF-I-1"
    patient_id: str = "SCD0000101"
    series_number: int = 300
    n_slices: int = 4
    n_phases: int = 5
    rows: int = 40
    columns: int = 48
    pixel_spacing_mm: tuple[float, float] = (1.5, 1.25)  # (between rows, between columns)
    slice_gap_mm: float = 8.0
    ed_phase: int = 0
    es_phase: int = 2
    contoured_slices: tuple[int, ...] = (1, 2, 3)  # slice index in InstanceNumber order
    descending: bool = False  # InstanceNumber slice order runs against the slice normal
    centre_xy: tuple[float, float] = (23.3, 19.6)
    info: dict[str, str] = field(default_factory=lambda: {"Gender": "Male", "Age": "58", "Pathology": "Heart failure"})

    def instance(self, slice_index: int, phase: int) -> int:
        return slice_index * self.n_phases + phase + 1

    def position_mm(self, slice_index: int) -> float:
        """Position along the normal; the output volume is sorted by it."""
        k = self.n_slices - 1 - slice_index if self.descending else slice_index
        return k * self.slice_gap_mm

    def geometric_index(self, slice_index: int) -> int:
        return self.n_slices - 1 - slice_index if self.descending else slice_index

    def endo_radius(self, slice_index: int, phase: int) -> float:
        radius = 10.0 - 1.3 * slice_index
        return radius * (0.7 if phase == self.es_phase else 1.0)

    def epi_radius(self, slice_index: int, phase: int) -> float:
        return self.endo_radius(slice_index, phase) + 3.5

    def has_contour(self, slice_index: int, phase: int, kind: str) -> bool:
        if slice_index not in self.contoured_slices:
            return False
        if kind == "i":
            return phase in (self.ed_phase, self.es_phase)
        return phase == self.ed_phase  # epicardium at ED only, as in most Sunnybrook cases

    def contour(self, slice_index: int, phase: int, kind: str) -> np.ndarray:
        radius = self.endo_radius(slice_index, phase) if kind == "i" else self.epi_radius(slice_index, phase)
        return circle_points(self.centre_xy, radius)

    def image(self, slice_index: int, phase: int) -> np.ndarray:
        yy, xx = np.mgrid[0 : self.rows, 0 : self.columns]
        distance = np.hypot(xx - self.centre_xy[0], yy - self.centre_xy[1])
        image = np.full((self.rows, self.columns), BACKGROUND, dtype=np.int16)
        image[distance < self.epi_radius(slice_index, phase)] = MUSCLE
        image[distance < self.endo_radius(slice_index, phase)] = BLOOD
        return image + np.int16(slice_index)  # a per-slice offset lets the tests check the slice order

    def expected_label(self, slice_index: int, phase: int) -> np.ndarray:
        shape = (self.rows, self.columns)
        label = np.zeros(shape, dtype=np.uint8)
        endo = oracle_fill(self.contour(slice_index, phase, "i"), shape) if self.has_contour(slice_index, phase, "i") else None
        if endo is None:
            return label
        if self.has_contour(slice_index, phase, "o"):
            label[oracle_fill(self.contour(slice_index, phase, "o"), shape)] = 2
        label[endo] = 1
        return label

    def voxel_volume_ml(self) -> float:
        return self.pixel_spacing_mm[0] * self.pixel_spacing_mm[1] * self.slice_gap_mm / 1000.0

    def expected_lv_ml(self, phase: int) -> float:
        return sum(int((self.expected_label(s, phase) == 1).sum()) for s in range(self.n_slices)) * self.voxel_volume_ml()

    def dicom_tags(self, slice_index: int, phase: int, series_uid: str, study_uid: str) -> dict[str, object]:
        position = np.array(BASE_POSITION_MM) + self.position_mm(slice_index) * np.array(NORMAL)
        return {
            "PatientID": self.patient_id, "PatientName": self.patient_id, "StudyInstanceUID": study_uid,
            "SeriesInstanceUID": series_uid, "SeriesNumber": self.series_number,
            "InstanceNumber": self.instance(slice_index, phase), "Manufacturer": "GE MEDICAL SYSTEMS",
            "MagneticFieldStrength": 1.5, "PixelSpacing": list(self.pixel_spacing_mm),
            "ImageOrientationPatient": [*ROW_DIRECTION, *COLUMN_DIRECTION],
            "ImagePositionPatient": [round(float(v), 4) for v in position],
            "SliceLocation": self.position_mm(slice_index), "SliceThickness": 8.0,
            "SpacingBetweenSlices": self.slice_gap_mm, "TriggerTime": 40.0 * phase + 5.0,
            "CardiacNumberOfImages": self.n_phases, "ImagesInAcquisition": self.n_slices * self.n_phases,
            "InPlanePhaseEncodingDirection": "COL", "FrameOfReferenceUID": generate_uid(),
        }


def _write_series(case: SyntheticCase, folder: Path, name_of: object) -> None:
    series_uid, study_uid = generate_uid(), generate_uid()
    for s in range(case.n_slices):
        for p in range(case.n_phases):
            path = folder / name_of(case.instance(s, p))  # type: ignore[operator]
            write_mr_dicom(path, case.image(s, p), **case.dicom_tags(s, p, series_uid, study_uid))


def _write_contours(case: SyntheticCase, folder_of: object) -> None:
    for s in range(case.n_slices):
        for p in range(case.n_phases):
            for kind in ("i", "o"):
                if case.has_contour(s, p, kind):
                    folder = folder_of(kind)  # type: ignore[operator]
                    folder.mkdir(parents=True, exist_ok=True)
                    text = "".join(f"{x:.2f} {y:.2f}\n" for x, y in case.contour(s, p, kind))
                    (folder / f"IM-0001-{case.instance(s, p):04d}-{kind}contour-manual.txt").write_text(text)


def write_final_data(root: Path, cases: list[SyntheticCase]) -> Path:
    """``link.csv``, ``dicoms/<patient_id>/<N>.dcm``, ``contourfiles/<case>/{i,o}-contours/``."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / "link.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["patient_id", "original_id"])
        for case in cases:
            writer.writerow([case.patient_id, case.case])
        writer.writerow(["SCD0009901", "SC-N-99"])  # a patient of the full release that is not in this folder
    for case in cases:
        _write_series(case, root / "dicoms" / case.patient_id, lambda n: f"{n}.dcm")
        _write_contours(case, lambda kind, case=case: root / "contourfiles" / case.case / f"{kind}-contours")
    return root


def write_cap(root: Path, cases: list[SyntheticCase]) -> Path:
    """Cardiac Atlas Project layout, with a one-slice long-axis cine beside each short-axis series."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / "scd_patientdata.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["PatientID", "OriginalID", "Gender", "Age", "Pathology"])
        for case in cases:
            writer.writerow([case.patient_id, case.case, case.info["Gender"], case.info["Age"], case.info["Pathology"]])
    for k, case in enumerate(cases):
        images = root / f"SCD_IMAGES_0{k % 5 + 1}" / case.patient_id
        _write_series(case, images / f"CINESAX_{case.series_number}", lambda n: f"IM-0003-{n:04d}.dcm")
        lax = SyntheticCase(case=case.case, patient_id=case.patient_id, series_number=case.series_number + 1,
                            n_slices=1, n_phases=case.n_phases, rows=case.rows, columns=case.columns)
        _write_series(lax, images / f"CINELAX_{lax.series_number}", lambda n: f"IM-0004-{n:04d}.dcm")
        contours = root / "SCD_ManualContours" / pad_case(case.case) / "contours-manual" / "IRCCI-expert"
        _write_contours(case, lambda kind, contours=contours: contours)
    return root


def write_challenge(root: Path, cases: list[SyntheticCase]) -> Path:
    """Original challenge layout: several series in one case folder, contours under ContoursPart3."""
    for case in cases:
        images = root / "challenge_training" / case.case
        _write_series(case, images, lambda n: f"IM-0004-{n:04d}.dcm")
        # a one-slice cine with as many images as the short-axis series: it holds every contoured image
        # number too, so only the number of slice positions tells the short-axis series apart
        lax = SyntheticCase(case=case.case, patient_id=case.patient_id, series_number=case.series_number - 1,
                            n_slices=1, n_phases=case.n_slices * case.n_phases, rows=case.rows, columns=case.columns)
        _write_series(lax, images, lambda n: f"IM-0001-{n:04d}.dcm")
        contours = (root / "Sunnybrook Cardiac MR Database ContoursPart3" / "TrainingDataContours"
                    / pad_case(case.case) / "contours-manual" / "IRCCI-expert")
        _write_contours(case, lambda kind, contours=contours: contours)
    return root


def final_data_dicom(root: Path, case: SyntheticCase, slice_index: int, phase: int) -> Path:
    return root / "dicoms" / case.patient_id / f"{case.instance(slice_index, phase)}.dcm"


def final_data_contour(root: Path, case: SyntheticCase, slice_index: int, phase: int, kind: str) -> Path:
    name = f"IM-0001-{case.instance(slice_index, phase):04d}-{kind}contour-manual.txt"
    return root / "contourfiles" / case.case / f"{kind}-contours" / name


def edit_dicom(path: Path, **changes: object) -> None:
    """Rewrite one file with tags changed; a value of None deletes the tag."""
    ds = pydicom.dcmread(path)
    for keyword, value in changes.items():
        if value is None:
            delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    ds.save_as(path, enforce_file_format=True)
