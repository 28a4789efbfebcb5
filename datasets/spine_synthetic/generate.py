"""Generate axial lumbar MRI slices with spinal-muscle labels in the spine seed's layout.

Each patient has ``slices`` axial slices (T2-like contrast, ``size`` × ``size`` over a
360 mm field of view): a body with bright subcutaneous fat, a vertebral body and the
dark spinal canal behind it, and four muscles of the same grey level (left / right
psoas beside the vertebral body, left / right erector spinae with multifidus behind
it) separated by bright fat, under a bias field and Rician noise. Muscle sizes,
positions and the body shape vary by patient and slice. Labels are ROI-id images
(0 background, 40 / 80 psoas L / R, 120 / 160 erector spinae L / R) with the image's
name; their format cycles by slice: PNG, NPY, JPEG (quality 90; the adapter snaps
its values to the ROI ids learnt from the lossless ones).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image
from pydicom.uid import generate_uid
from scipy import ndimage

from segarena_datasets.shared.synthetic_mr import add_noise, bias_field, write_mr_dicom

FOV_MM = 360.0
ROI_IDS = {"psoas_left": 40, "psoas_right": 80, "erector_left": 120, "erector_right": 160}
FORMATS = (".png", ".npy", ".jpg")
MUSCLE, FAT, BONE, CANAL, VISCERA, AIR = 90.0, 260.0, 210.0, 30.0, 130.0, 5.0


def _ellipse(shape: tuple[int, int], centre: tuple[float, float], axes: tuple[float, float], angle: float = 0.0
             ) -> np.ndarray:
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]].astype(float)
    x, y = xx - centre[0], yy - centre[1]
    c, s = np.cos(angle), np.sin(angle)
    u, v = c * x + s * y, -s * x + c * y
    return (u / axes[0]) ** 2 + (v / axes[1]) ** 2 <= 1


def spine_slice(rng: np.random.Generator, size: int, level: float) -> tuple[np.ndarray, np.ndarray]:
    """(image, ROI-id label) of one slice; ``level`` in [0, 1] runs from L1 to L5 (the psoas grows caudally)."""
    n = size
    shape = (n, n)
    cx, cy = n / 2 + rng.uniform(-0.03, 0.03) * n, n / 2 + rng.uniform(-0.03, 0.03) * n
    image = np.full(shape, AIR)
    body = _ellipse(shape, (cx, cy), (n * rng.uniform(0.40, 0.46), n * rng.uniform(0.30, 0.36)))
    inner = ndimage.binary_erosion(body, iterations=max(2, round(n * 0.03)))
    image[body] = FAT
    image[inner] = VISCERA
    image[inner] += rng.normal(0, 12, int(inner.sum()))  # bowel texture
    vx, vy = cx, cy + 0.02 * n
    vertebra = _ellipse(shape, (vx, vy), (0.075 * n, 0.06 * n))
    canal = _ellipse(shape, (vx, vy + 0.105 * n), (0.03 * n, 0.025 * n))
    label = np.zeros(shape, np.uint8)
    psoas_axes = (n * (0.035 + 0.03 * level) * rng.uniform(0.9, 1.1), n * (0.04 + 0.02 * level) * rng.uniform(0.9, 1.1))
    erector_axes = (n * 0.075 * rng.uniform(0.9, 1.1), n * 0.055 * rng.uniform(0.9, 1.1))
    for side, name in ((-1, "left"), (1, "right")):
        psoas = _ellipse(shape, (vx + side * (0.075 * n + psoas_axes[0] * 0.9), vy + 0.01 * n), psoas_axes,
                         side * rng.uniform(0.2, 0.5))
        erector = _ellipse(shape, (vx + side * (erector_axes[0] + 0.015 * n), vy + 0.19 * n), erector_axes,
                           side * rng.uniform(-0.2, 0.2))
        label[psoas & inner & ~vertebra] = ROI_IDS[f"psoas_{name}"]
        label[erector & inner & ~canal] = ROI_IDS[f"erector_{name}"]
    muscle = label > 0
    fat_rim = ndimage.binary_dilation(muscle, iterations=max(1, round(n * 0.012))) & ~muscle & inner
    image[fat_rim] = FAT * 0.8
    image[muscle] = MUSCLE
    image[vertebra] = BONE
    image[canal] = CANAL
    image = ndimage.gaussian_filter(image, 0.7) * bias_field(shape, rng, 0.3)
    return add_noise(image, rng, 10.0), label


def write_label(path: Path, label: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.suffix == ".npy":
        np.save(path, label.astype(np.uint8))
    elif path.suffix == ".jpg":
        Image.fromarray(label, mode="L").save(path, quality=90)
    else:
        Image.fromarray(label, mode="L").save(path)


def write_spine_layout(raw: Path, n_subjects: int, n_slices: int, size: int, seed: int) -> list[str]:
    """Write ``n_subjects`` × ``n_slices`` samples into ``raw`` (dicoms/ + labels/); their names."""
    names = []
    spacing = round(FOV_MM / size, 6)
    for index in range(n_subjects):
        rng = np.random.default_rng(seed + index)
        patient = f"SPINE{index + 1:03d}"
        study, series = generate_uid(), generate_uid()
        for k in range(n_slices):
            name = f"P{index + 1:03d}_S{k + 1:02d}"
            image, label = spine_slice(rng, size, k / max(1, n_slices - 1))
            z = -40.0 * k
            write_mr_dicom(raw / "dicoms" / f"{name}.dcm", image, PatientID=patient, PatientName=patient,
                           StudyInstanceUID=study, SeriesInstanceUID=series, SeriesNumber=3, InstanceNumber=k + 1,
                           Manufacturer="SIEMENS", MagneticFieldStrength=0.5, SliceThickness=4.0, SliceLocation=z,
                           PixelSpacing=[spacing, spacing], ImagePositionPatient=[0.0, 0.0, z],
                           ImageOrientationPatient=[1.0, 0.0, 0.0, 0.0, 1.0, 0.0])
            write_label(raw / "labels" / f"{name}{FORMATS[(index * n_slices + k) % len(FORMATS)]}", label)
            names.append(name)
    return names
