"""Generate short-axis cine cases in the Sunnybrook challenge layout: DICOM images and expert-style contour files.

Each case is a two-frame cine (frame 0 end-diastole, frame 1 end-systole) of
``slices`` short-axis slices from base to apex, ``size`` × ``size`` pixels over a
240 mm field of view, so that the LV blood pool covers 0.3–3 % of an image (1.4 % on
average): the class imbalance of the DIGITS tutorial ("less than 2 % of pixels").
An image shows a body with subcutaneous fat and dark lungs, the LV blood pool inside
a darker myocardial ring, a bright RV crescent beside it and a bright descending
aorta, under a smooth bias field and Rician noise: the RV and the aorta are as bright
as the LV, so a threshold does not find the LV alone.

The contours are what the challenge ships: ``IM-0001-<NNNN>-icontour-manual.txt``
(endocardium) at both frames and ``-ocontour-`` (epicardium) at end-diastole only,
one ``x y`` point per line with two decimals, on every slice but the apical one. The
images are drawn from the same polygons (by the rasterisation rule of
``shared/polygon.py``), slightly blurred (partial volume), so the labels the
sunnybrook adapter rasterises from the contour files match the images.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from pydicom.uid import generate_uid
from scipy import ndimage

from segarena_datasets.shared import polygon
from segarena_datasets.shared.synthetic_mr import add_noise, bias_field, write_mr_dicom

FOV_MM = 240.0
SLICE_GAP_MM = 10.0
N_PHASES = 2  # 0 = ED, 1 = ES
CATEGORIES = ("HF-I", "HF-NI", "HYP", "N")
CONTOURS = "Sunnybrook Cardiac MR Database ContoursPart3/TrainingDataContours"
BLOOD, MYOCARDIUM, BODY, FAT, LUNG, AIR = 300.0, 75.0, 110.0, 240.0, 20.0, 5.0


def case_name(index: int) -> str:
    return f"SC-{CATEGORIES[index % len(CATEGORIES)]}-{index + 1:02d}"


def outline(centre_xy: tuple[float, float], radius_px: float, rng_shape: np.ndarray, n: int = 48) -> np.ndarray:
    """A smooth closed contour: radius modulated by 2nd and 3rd harmonics, rounded to 2 decimals (x, y)."""
    theta = np.linspace(0, 2 * np.pi, n, endpoint=False)
    a2, p2, a3, p3 = rng_shape
    r = radius_px * (1 + a2 * np.cos(2 * theta + p2) + a3 * np.cos(3 * theta + p3))
    return np.round(np.column_stack([centre_xy[0] + r * np.cos(theta), centre_xy[1] + r * np.sin(theta)]), 2)


def ellipse(shape: tuple[int, int], centre_xy: tuple[float, float], axes_px: tuple[float, float]) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    return ((xx - centre_xy[0]) / axes_px[0]) ** 2 + ((yy - centre_xy[1]) / axes_px[1]) ** 2 <= 1


class SyntheticHeart:
    """One case's anatomy, drawn per (slice, frame)."""

    def __init__(self, seed: int, size: int, n_slices: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.size, self.n_slices = size, n_slices
        self.spacing_mm = FOV_MM / size
        rng = self.rng
        self.centre = (size * (0.5 + rng.uniform(-0.08, 0.08)), size * (0.47 + rng.uniform(-0.06, 0.06)))
        self.endo_ed_mm = rng.uniform(20.0, 28.0)  # basal end-diastolic radius
        self.es_factor = rng.uniform(0.6, 0.8)  # ejection: EF ~ 1 - factor²
        self.wall_mm = rng.uniform(8.0, 11.0)
        self.shape_params = np.array([rng.uniform(0, 0.06), rng.uniform(0, 2 * np.pi),
                                      rng.uniform(0, 0.04), rng.uniform(0, 2 * np.pi)])
        self.rv_mm = rng.uniform(16.0, 24.0)
        self.body_axes = (size * rng.uniform(0.40, 0.45), size * rng.uniform(0.30, 0.35))
        self.field = bias_field((size, size), rng, 0.35)

    def _taper(self, slice_index: int) -> float:
        return 1.0 - 0.55 * slice_index / max(1, self.n_slices - 1)

    def endo(self, slice_index: int, frame: int) -> np.ndarray:
        radius_mm = self.endo_ed_mm * self._taper(slice_index) * (self.es_factor if frame == 1 else 1.0)
        return outline(self.centre, radius_mm / self.spacing_mm, self.shape_params)

    def epi(self, slice_index: int, frame: int) -> np.ndarray:
        endo_mm = self.endo_ed_mm * self._taper(slice_index) * (self.es_factor if frame == 1 else 1.0)
        wall_mm = self.wall_mm * (1.3 if frame == 1 else 1.0)
        return outline(self.centre, (endo_mm + wall_mm) / self.spacing_mm, self.shape_params * 0.5)

    def image(self, slice_index: int, frame: int) -> np.ndarray:
        n, s = self.size, self.spacing_mm
        shape = (n, n)
        cx, cy = self.centre
        body_centre = (n / 2, n / 2)
        image = np.full(shape, AIR)
        outer = ellipse(shape, body_centre, self.body_axes)
        inner = ellipse(shape, body_centre, (self.body_axes[0] - 6 / s, self.body_axes[1] - 6 / s))
        image[outer] = FAT
        image[inner] = BODY
        for side in (-1, 1):  # lungs either side of the heart
            image[ellipse(shape, (n / 2 + side * 0.22 * n, n / 2 - 0.04 * n), (0.13 * n, 0.2 * n)) & inner] = LUNG
        epi = polygon.fill_polygon(self.epi(slice_index, frame), shape)
        endo = polygon.fill_polygon(self.endo(slice_index, frame), shape)
        rv_r = self.rv_mm * self._taper(slice_index) * (0.75 if frame == 1 else 1.0) / s
        epi_r = float(np.hypot(*(self.epi(slice_index, frame)[0] - np.array(self.centre))))
        rv = ellipse(shape, (cx - epi_r - 0.35 * rv_r, cy + 0.1 * rv_r), (rv_r, 1.4 * rv_r)) & ~epi
        rv_wall = ndimage.binary_dilation(rv, iterations=max(1, round(3 / s))) & ~rv & ~epi
        image[rv_wall | epi] = MYOCARDIUM
        image[rv] = BLOOD
        image[endo] = BLOOD
        image[ellipse(shape, (cx + 0.05 * n, cy + epi_r + 0.07 * n), (9 / s, 9 / s)) & ~epi] = BLOOD  # aorta
        image = ndimage.gaussian_filter(image, 0.7) * self.field
        return add_noise(image, self.rng, 9.0) + 0.5 * slice_index

    def tags(self, slice_index: int, frame: int, patient: str, series_uid: str, study_uid: str,
             frame_of_reference: str) -> dict[str, object]:
        z = slice_index * SLICE_GAP_MM
        return {
            "PatientID": patient, "PatientName": patient, "StudyInstanceUID": study_uid,
            "SeriesInstanceUID": series_uid, "SeriesNumber": 4, "FrameOfReferenceUID": frame_of_reference,
            "InstanceNumber": slice_index * N_PHASES + frame + 1, "Manufacturer": "GE MEDICAL SYSTEMS",
            "MagneticFieldStrength": 1.5, "PixelSpacing": [round(self.spacing_mm, 6)] * 2,
            "ImageOrientationPatient": [1.0, 0.0, 0.0, 0.0, 1.0, 0.0], "ImagePositionPatient": [0.0, 0.0, z],
            "SliceLocation": z, "SliceThickness": 8.0, "SpacingBetweenSlices": SLICE_GAP_MM,
            "TriggerTime": 0.0 if frame == 0 else 320.0, "CardiacNumberOfImages": N_PHASES,
        }


def write_contour(path: Path, points: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"{x:.2f} {y:.2f}\n" for x, y in points))


def write_challenge_layout(raw: Path, n_subjects: int, n_slices: int, size: int, seed: int) -> list[str]:
    """Write ``n_subjects`` cases into ``raw`` (challenge layout); their case names."""
    names = []
    for index in range(n_subjects):
        name = case_name(index)
        heart = SyntheticHeart(seed + index, size, n_slices)
        series_uid, study_uid, frame_of_reference = generate_uid(), generate_uid(), generate_uid()
        contours = raw / CONTOURS / name / "contours-manual" / "IRCCI-expert"
        for s in range(n_slices):
            for frame in range(N_PHASES):
                number = s * N_PHASES + frame + 1
                write_mr_dicom(raw / "challenge_training" / name / f"IM-0001-{number:04d}.dcm", heart.image(s, frame),
                               **heart.tags(s, frame, f"SCD{seed % 1000:03d}{index:04d}", series_uid, study_uid,
                                            frame_of_reference))
                write_contour(contours / f"IM-0001-{number:04d}-icontour-manual.txt", heart.endo(s, frame))
                if frame == 0:
                    write_contour(contours / f"IM-0001-{number:04d}-ocontour-manual.txt", heart.epi(s, frame))
        names.append(name)
    return names
