"""Write a tiny ACDC raw tree with nibabel: ``<root>/{training,testing}/patientXXX/`` with Info.cfg and NIfTI.

``cine_phantom`` (a beating LV with myocardium and an RV beside it, labels in the canonical map
1 LV, 2 MYO, 3 RV) is shared with the M&Ms generator.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

SHAPE_ZYX = (3, 16, 18)
CANONICAL_TO_ACDC = {0: 0, 1: 3, 2: 2, 3: 1}  # LV→3, MYO→2, RV→1


@dataclass(frozen=True)
class Cine:
    image: np.ndarray  # (t, z, y, x) int16
    labels: np.ndarray  # (t, z, y, x) canonical 0 bg, 1 LV, 2 MYO, 3 RV
    affine: np.ndarray  # nibabel (RAS) 4x4

    @property
    def spacing_mm(self) -> tuple[float, float, float]:
        return tuple(float(v) for v in np.linalg.norm(self.affine[:3, :3], axis=0))  # type: ignore[return-value]

    @property
    def direction_lps(self) -> tuple[float, ...]:
        flip = np.diag([-1.0, -1.0, 1.0])
        return tuple((flip @ (self.affine[:3, :3] / np.asarray(self.spacing_mm))).ravel().tolist())

    @property
    def origin_lps_mm(self) -> tuple[float, float, float]:
        return (-float(self.affine[0, 3]), -float(self.affine[1, 3]), float(self.affine[2, 3]))

    def voxel_ml(self) -> float:
        return float(np.prod(self.spacing_mm)) / 1000.0


def cine_phantom(seed: int, n_frames: int, spacing: tuple[float, float, float], tilt_deg: float = 0.0) -> Cine:
    """A beating LV (largest at frame 0, smallest at n_frames // 2) with myocardium and an RV."""
    rng = np.random.default_rng(seed)
    nz, ny, nx = SHAPE_ZYX
    yy, xx = np.mgrid[0:ny, 0:nx]
    cy, cx = 8 + rng.uniform(-0.5, 0.5), 10 + rng.uniform(-0.5, 0.5)
    r_dist = np.hypot(yy - cy, xx - cx)
    image = np.zeros((n_frames, nz, ny, nx), np.int16)
    labels = np.zeros((n_frames, nz, ny, nx), np.uint8)
    for t in range(n_frames):
        squeeze = 0.5 * (1 - np.cos(2 * np.pi * t / n_frames))  # 0 at ED (t=0), 1 at t = n/2
        for z in range(nz):
            r_lv = 3.6 - 1.2 * squeeze - 0.3 * z
            lab = np.zeros((ny, nx), np.uint8)
            lab[(r_dist > r_lv) & (r_dist <= r_lv + 1.6)] = 2
            lab[r_dist <= r_lv] = 1
            rv = (np.hypot(yy - cy, xx - (cx - 6.5)) <= 2.8 - 0.6 * squeeze) & (lab == 0)
            lab[rv] = 3
            labels[t, z] = lab
            image[t, z] = (100 + 300 * (lab == 1) + 150 * (lab == 2) + 250 * (lab == 3)
                           + rng.integers(0, 20, (ny, nx))).astype(np.int16)
    a = np.deg2rad(tilt_deg)
    rotation = np.array([[1.0, 0.0, 0.0], [0.0, np.cos(a), -np.sin(a)], [0.0, np.sin(a), np.cos(a)]])
    affine = np.eye(4)
    affine[:3, :3] = rotation * np.asarray(spacing)
    affine[:3, 3] = (-120.0 + seed, 80.0 - seed, -30.0 + 2 * seed)
    return Cine(image, labels, affine)


def save_nifti(path: Path, array_zyx: np.ndarray, affine: np.ndarray, time_step_ms: float = 30.0) -> None:
    """Save a (z, y, x) or (t, z, y, x) array as NIfTI (x, y, z[, t])."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.ascontiguousarray(array_zyx.T)  # all axes reversed: (x, y, z[, t])
    image = nib.Nifti1Image(data, affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    if array_zyx.ndim == 4:
        zooms = image.header.get_zooms()
        image.header.set_zooms((*zooms[:3], time_step_ms))
    nib.save(image, str(path))


def to_acdc(labels: np.ndarray) -> np.ndarray:
    out = np.zeros_like(labels)
    for canonical, acdc in CANONICAL_TO_ACDC.items():
        out[labels == canonical] = acdc
    return out


@dataclass(frozen=True)
class AcdcPatient:
    name: str
    folder: Path
    cine: Cine
    ed: int  # 1-based, as in Info.cfg
    es: int
    group: str
    height_cm: float
    weight_kg: float
    with_gt: bool


def write_patient(
    root: Path, split: str, number: int, *, n_frames: int = 6, es: int = 4, group: str = "DCM",
    height: float = 184.0, weight: float = 95.0, tilt_deg: float = 0.0, with_gt: bool = True,
    info_text: str | None = None,
) -> AcdcPatient:
    name = f"patient{number:03d}"
    folder = root / split / name if split else root / name
    cine = cine_phantom(number, n_frames, (1.5625, 1.5625, 10.0), tilt_deg)
    ed = 1
    save_nifti(folder / f"{name}_4d.nii.gz", cine.image, cine.affine)
    for frame in (ed, es):
        save_nifti(folder / f"{name}_frame{frame:02d}.nii.gz", cine.image[frame - 1], cine.affine)
        if with_gt:
            save_nifti(folder / f"{name}_frame{frame:02d}_gt.nii.gz", to_acdc(cine.labels[frame - 1]), cine.affine)
    if info_text is None:
        info_text = (f"ED: {ed}\nES: {es}\nGroup: {group}\nHeight: {height}\nNbFrame: {n_frames}\n"
                     f"Weight: {weight}\n")
    (folder / "Info.cfg").write_text(info_text)
    return AcdcPatient(name, folder, cine, ed, es, group, height, weight, with_gt)


def write_acdc(root: Path) -> dict[str, AcdcPatient]:
    """Two training patients (one with tilted planes), one testing patient without _gt files."""
    patients = [
        write_patient(root, "training", 1),
        write_patient(root, "training", 2, es=3, group="NOR", height=170.0, weight=60.5, tilt_deg=12.0),
        write_patient(root, "testing", 101, group="HCM", with_gt=False),
    ]
    return {p.name: p for p in patients}


def add_bad_patients(root: Path) -> dict[str, str]:
    """Broken patients; returns patient → the file the error must name."""
    bad: dict[str, str] = {}
    p = write_patient(root, "training", 3)
    gt = p.folder / "patient003_frame04_gt.nii.gz"
    labels = to_acdc(p.cine.labels[3])
    labels[0, 0, :3] = 5  # a value outside ACDC's map
    save_nifti(gt, labels, p.cine.affine)
    bad[p.name] = str(gt)
    p = write_patient(root, "training", 4)
    gt = p.folder / "patient004_frame01_gt.nii.gz"
    save_nifti(gt, to_acdc(p.cine.labels[0])[:, :-2], p.cine.affine)  # shape mismatch
    bad[p.name] = str(gt)
    p = write_patient(root, "training", 5, info_text="ED: 1\nGroup: MINF\nHeight: 160\nNbFrame: 6\nWeight: 70\n")
    bad[p.name] = str(p.folder / "Info.cfg")  # ES missing
    p = write_patient(root, "training", 6, info_text="ED: 1\nES: 9\nGroup: RV\nHeight: 160\nNbFrame: 6\nWeight: 70\n")
    bad[p.name] = str(p.folder / "Info.cfg")  # ES beyond NbFrame
    p = write_patient(root, "training", 7)
    image = p.folder / "patient007_frame04.nii.gz"
    image.write_bytes(image.read_bytes()[:-40])  # truncated
    bad[p.name] = str(image)
    return bad
