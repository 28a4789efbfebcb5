"""Synthetic 7T cine raw data: one DICOM series per slice plus Medis ``.con`` files per rater.

Each volunteer is a short-axis stack of ``n_slices`` × ``n_frames`` MR images
with a bright LV and RV blood pool and a darker LV myocardial ring, all circles
of known radius that shrink from the first acquired slice to the last. The
``.con`` files are written as Medis writes them (CRLF; ``key=value`` header
sections — the section names here are illustrative, the adapter does not use
them —, a latin-1 byte in the header, ``[XYCONTOUR]`` blocks of ``s f t  1.0``,
the point count, ``x y`` pairs with 3 decimals, then ``103`` and ``0 0``).
``expected_label`` rasterises the same polygons with matplotlib, independently
of the adapter.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from pydicom.uid import generate_uid

from tests.support.raw_sunnybrook import circle_points, oracle_fill, write_mr_dicom

ROW_DIRECTION = (1.0, 0.0, 0.0)
COLUMN_DIRECTION = (0.0, 0.6, -0.8)
NORMAL = tuple(np.cross(ROW_DIRECTION, COLUMN_DIRECTION).tolist())  # (0, 0.8, 0.6)
BASE_POSITION_MM = (-40.0, 15.0, 60.0)
BLOOD, MUSCLE, BACKGROUND = 500, 120, 30
LV_ENDO, LV_EPI, RV_EPI, RV_ENDO = 0, 1, 2, 5


@dataclass(frozen=True)
class Volunteer:
    subject: str = "v01"
    n_slices: int = 4
    n_frames: int = 6
    rows: int = 40
    columns: int = 52
    pixel_spacing_mm: tuple[float, float] = (1.4, 1.2)  # (between rows, between columns)
    slice_gap_mm: float = 6.0
    ed_frame: int = 0
    es_frame: int = 3
    phase_encoding: str = "ROW"
    con_reversed: bool = False  # .con slice 0 = the LAST acquired slice
    acquisition_descending: bool = False  # series numbers (acquisition order) run against the slice normal
    flat_images: bool = False  # no contrast: the slice order cannot be read from the images
    lv_centre_xy: tuple[float, float] = (20.3, 19.6)
    rv_centre_xy: tuple[float, float] = (38.4, 19.1)

    # ------------------------------------------------------------- anatomy (k = acquisition index)
    def endo_radius(self, k: int, frame: int) -> float:
        return (8.0 - 1.2 * k) * (0.7 if frame == self.es_frame else 1.0)

    def epi_radius(self, k: int, frame: int) -> float:
        return self.endo_radius(k, frame) + 3.0

    def rv_radius(self, k: int, frame: int) -> float:
        return (5.0 - 0.6 * k) * (0.75 if frame == self.es_frame else 1.0)

    def geometric_index(self, k: int) -> int:
        return self.n_slices - 1 - k if self.acquisition_descending else k

    def con_slice(self, k: int) -> int:
        return self.n_slices - 1 - k if self.con_reversed else k

    def series_number(self, k: int) -> int:
        return 10 + 2 * k

    def image(self, k: int, frame: int) -> np.ndarray:
        if self.flat_images:
            return np.full((self.rows, self.columns), 100 + k, dtype=np.int16)
        yy, xx = np.mgrid[0 : self.rows, 0 : self.columns]
        lv = np.hypot(xx - self.lv_centre_xy[0], yy - self.lv_centre_xy[1])
        rv = np.hypot(xx - self.rv_centre_xy[0], yy - self.rv_centre_xy[1])
        image = np.full((self.rows, self.columns), BACKGROUND, dtype=np.int16)
        image[lv < self.epi_radius(k, frame)] = MUSCLE
        image[lv < self.endo_radius(k, frame)] = BLOOD
        image[rv < self.rv_radius(k, frame)] = BLOOD
        return image + np.int16(k)  # per-slice offset: lets the tests check the slice order

    def polygons(self, k: int, frame: int, grow_px: float = 0.0) -> dict[int, np.ndarray]:
        """Contour type → polygon on acquired slice k (``grow_px`` widens the endocardium: a second rater)."""
        return {
            LV_ENDO: circle_points(self.lv_centre_xy, self.endo_radius(k, frame) + grow_px, 48).round(3),
            LV_EPI: circle_points(self.lv_centre_xy, self.epi_radius(k, frame), 48),
            RV_ENDO: circle_points(self.rv_centre_xy, self.rv_radius(k, frame), 32),
        }

    def expected_label(self, k: int, frame: int, grow_px: float = 0.0) -> np.ndarray:
        shape = (self.rows, self.columns)
        shapes = self.polygons(k, frame, grow_px)
        label = np.zeros(shape, dtype=np.uint8)
        label[oracle_fill(shapes[RV_ENDO], shape)] = 3
        label[oracle_fill(shapes[LV_EPI], shape)] = 2
        label[oracle_fill(shapes[LV_ENDO], shape)] = 1
        return label

    def expected_volume_ml(self, frame: int, value: int, grow_px: float = 0.0) -> float:
        voxel_ml = self.pixel_spacing_mm[0] * self.pixel_spacing_mm[1] * self.slice_gap_mm / 1000
        return sum(int((self.expected_label(k, frame, grow_px) == value).sum()) for k in range(self.n_slices)) * voxel_ml


def write_dicom(raw: Path, vol: Volunteer) -> None:
    """``dicom/<subject>/<NN>_cine_gre/IM_<n>.dcm``: one series per slice, file names in reverse frame order."""
    study_uid = generate_uid()
    for k in range(vol.n_slices):
        series_uid = generate_uid()
        position = np.array(BASE_POSITION_MM) + vol.geometric_index(k) * vol.slice_gap_mm * np.array(NORMAL)
        folder = raw / "dicom" / vol.subject / f"{vol.series_number(k)}_cine_gre"
        for frame in range(vol.n_frames):
            write_mr_dicom(
                folder / f"IM_{vol.n_frames - frame:04d}.dcm", vol.image(k, frame),
                PatientID=vol.subject, StudyInstanceUID=study_uid, SeriesInstanceUID=series_uid,
                SeriesNumber=vol.series_number(k), InstanceNumber=frame + 1, Manufacturer="SIEMENS",
                MagneticFieldStrength=7.0, PixelSpacing=list(vol.pixel_spacing_mm),
                ImageOrientationPatient=[*ROW_DIRECTION, *COLUMN_DIRECTION],
                ImagePositionPatient=[round(float(v), 4) for v in position],
                SliceLocation=round(float(np.dot(position, NORMAL)), 4), SliceThickness=6.0,
                TriggerTime=35.0 * frame + 12.0, CardiacNumberOfImages=vol.n_frames,
                InPlanePhaseEncodingDirection=vol.phase_encoding, FrameOfReferenceUID=study_uid,
            )


def con_bytes(vol: Volunteer, grow_px: float = 0.0, extra_blocks: tuple[str, ...] = (),
              resolution: str | None = None) -> bytes:
    """The .con file of one rater for ED and ES on every slice, CRLF, latin-1 header."""
    lines = [
        "[PATIENT INFO]", f"Patient_id={vol.subject}", "Patient_name=M\u00fcller^Test",
        "[IMAGE INFO]", f"Image_resolution={resolution or f'{vol.columns}x{vol.rows}'}",
        f"Field_of_view={vol.columns * vol.pixel_spacing_mm[1]:.1f}x{vol.rows * vol.pixel_spacing_mm[0]:.1f} mm",
        "[SELECTION]", *[f"selection.slice_{s}=1" for s in range(vol.n_slices)],
        "[MANUAL PHASES]", f"manual_lv_es_phase={vol.es_frame}", f"manual_lv_ed_phase={vol.ed_frame}",
    ]
    for frame in (vol.ed_frame, vol.es_frame):
        for k in range(vol.n_slices):
            for kind, points in vol.polygons(k, frame, grow_px).items():
                lines += ["[XYCONTOUR]", f"{vol.con_slice(k)} {frame} {kind}  1.0", str(len(points))]
                lines += [f"{x:.3f} {y:.3f}" for x, y in points]
                lines += ["103", "0 0"]
    for block in extra_blocks:
        lines += block.split("\n")
    lines += ["[DISTANCE LABELS]", "0"]
    return ("\r\n".join(lines) + "\r\n").encode("latin-1")


def rv_epi_block(vol: Volunteer) -> str:
    """A type-2 (RV epicardium) block: no label in the map, must be ignored."""
    points = circle_points(vol.rv_centre_xy, vol.rv_radius(0, vol.ed_frame) + 2.0, 16)
    return "\n".join(["[XYCONTOUR]", f"{vol.con_slice(0)} {vol.ed_frame} 2  1.0", str(len(points)),
                      *[f"{x:.3f} {y:.3f}" for x, y in points], "103", "0 0"])


def write_volunteer(raw: Path, vol: Volunteer, raters: dict[str, float], extra_blocks: tuple[str, ...] = ()) -> None:
    """Write the DICOM series and one .con per rater (rater name → endocardium growth in pixels)."""
    write_dicom(raw, vol)
    for rater, grow in raters.items():
        path = raw / "contours" / rater / f"{vol.subject}.con"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(con_bytes(vol, grow, extra_blocks))
