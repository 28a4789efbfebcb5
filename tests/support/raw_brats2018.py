"""Write a tiny BraTS 2018 raw tree with nibabel: ``<root>/MICCAI_BraTS_2018_Data_Training/{HGG,LGG}/<case>/``.

Each case has four channels and a ``_seg`` with BraTS' raw values 0, 1 (NCR/NET), 2 (ED), 4 (ET)
placed as nested spheres; the expected arrays are returned in (z, y, x) order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np

SHAPE_ZYX = (8, 12, 10)  # real BraTS: 155 x 240 x 240
MODALITIES = ("t1", "t1ce", "t2", "flair")
TOP = "MICCAI_BraTS_2018_Data_Training"


@dataclass(frozen=True)
class BratsCase:
    case: str
    grade: str
    folder: Path
    channels: tuple[np.ndarray, ...]  # (z, y, x) per modality, in MODALITIES order
    seg: np.ndarray | None  # raw BraTS values 0/1/2/4
    origin_lps_mm: tuple[float, float, float]


def _affine(origin_ras: tuple[float, float, float], spacing: float = 1.0) -> np.ndarray:
    """BraTS-like affine: x and y run towards -R/-A (so ITK's LPS direction is identity)."""
    affine = np.diag([-spacing, -spacing, spacing, 1.0])
    affine[:3, 3] = origin_ras
    return affine


def _save(path: Path, array_zyx: np.ndarray, affine: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = nib.Nifti1Image(np.ascontiguousarray(array_zyx.transpose(2, 1, 0)), affine)
    image.set_qform(affine, code=1)
    image.set_sform(affine, code=1)
    nib.save(image, str(path))


def _seg(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    zz, yy, xx = np.meshgrid(*(np.arange(n) for n in SHAPE_ZYX), indexing="ij")
    cz, cy, cx = 4 + rng.uniform(-0.5, 0.5), 6 + rng.uniform(-1, 1), 5 + rng.uniform(-1, 1)
    r = np.sqrt(((zz - cz) / 1.0) ** 2 + (yy - cy) ** 2 + (xx - cx) ** 2)
    seg = np.zeros(SHAPE_ZYX, np.uint8)
    seg[r <= 4.0] = 2  # edema
    seg[r <= 2.6] = 4  # enhancing rim
    seg[r <= 1.5] = 1  # necrotic core
    return seg


def write_case(root: Path, grade: str, case: str, seed: int, with_seg: bool = True) -> BratsCase:
    folder = root / TOP / grade / case if grade else root / "MICCAI_BraTS_2018_Data_Validation" / case
    rng = np.random.default_rng(seed)
    seg = _seg(seed)
    origin_ras = (0.0, 239.0 + seed, 0.0)
    affine = _affine(origin_ras)
    channels = []
    for k, modality in enumerate(MODALITIES):
        image = (100 * (k + 1) + 50 * (seg > 0) + rng.normal(0, 5, SHAPE_ZYX)).astype(np.float32)
        _save(folder / f"{case}_{modality}.nii.gz", image, affine)
        channels.append(image)
    if with_seg:
        _save(folder / f"{case}_seg.nii.gz", seg, affine)
    return BratsCase(case, grade, folder, tuple(channels), seg if with_seg else None,
                     (-origin_ras[0], -origin_ras[1], origin_ras[2]))


def write_brats2018(root: Path) -> dict[str, BratsCase]:
    """Two HGG cases, one LGG case, one validation case without a mask."""
    cases = [
        write_case(root, "HGG", "Brats18_2013_2_1", 1),
        write_case(root, "HGG", "Brats18_CBICA_AVV_1", 2),
        write_case(root, "LGG", "Brats18_TCIA10_393_1", 3),
        write_case(root, "", "Brats18_CBICA_AAM_1", 4, with_seg=False),
    ]
    return {c.case: c for c in cases}


def add_bad_cases(root: Path) -> dict[str, str]:
    """Broken cases; returns case → the file the error must name."""
    bad: dict[str, str] = {}
    # label 3 in the mask (not used in BraTS 2018)
    c = write_case(root, "HGG", "Brats18_TCIA01_390_1", 5)
    seg = c.seg.copy()
    seg[seg == 4] = 3
    _save(c.folder / f"{c.case}_seg.nii.gz", seg, _affine((0.0, 244.0, 0.0)))
    bad[c.case] = str(c.folder / f"{c.case}_seg.nii.gz")
    # T2 resampled to another spacing than the other channels
    c = write_case(root, "HGG", "Brats18_TCIA02_117_1", 6)
    _save(c.folder / f"{c.case}_t2.nii.gz", c.channels[2], _affine((0.0, 245.0, 0.0), spacing=1.2))
    bad[c.case] = str(c.folder / f"{c.case}_t2.nii.gz")
    # FLAIR missing
    c = write_case(root, "LGG", "Brats18_TCIA09_141_1", 7)
    (c.folder / f"{c.case}_flair.nii.gz").unlink()
    bad[c.case] = str(c.folder / f"{c.case}_flair.nii.gz")
    # truncated T1ce (header intact; ITK alone would fill the rest with zeros) and a T2 cut inside its header
    c = write_case(root, "LGG", "Brats18_TCIA12_101_1", 8)
    path = c.folder / f"{c.case}_t1ce.nii.gz"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    bad[c.case] = str(path)
    c = write_case(root, "LGG", "Brats18_TCIA12_102_1", 10)
    path = c.folder / f"{c.case}_t1.nii.gz"
    path.write_bytes(path.read_bytes()[:100])
    bad[c.case] = str(path)
    # mask with a different shape
    c = write_case(root, "LGG", "Brats18_2013_0_1", 9)
    _save(c.folder / f"{c.case}_seg.nii.gz", c.seg[:, :, :-1], _affine((0.0, 248.0, 0.0)))
    bad[c.case] = str(c.folder / f"{c.case}_seg.nii.gz")
    return bad
