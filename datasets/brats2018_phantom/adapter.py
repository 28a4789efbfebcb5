"""Generated BraTS-style cases: a head ellipsoid holding a tumour of nested edema, enhancing rim and core.

``prepare_raw`` writes ``MICCAI_BraTS_2018_Data_Training/HGG/<case>/<case>_{t1,t1ce,t2,flair,seg}.nii.gz``
(1 mm isotropic, BraTS' raw values 0/1 NCR-NET/2 ED/4 ET); discovery and conversion are the brats2018
format code's (``segarena_datasets.shared.brats``), so the labels and regions (WT, TC, ET) are exactly
those of converted BraTS data. Each channel shows the regions as MRI does: FLAIR and T2 bright in the
whole tumour, T1ce bright in the enhancing rim, T1 dark in the core.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from harness.errors import InputDataError
from segarena_datasets.shared.brats import CHANNEL_SUFFIXES, SEG_SUFFIX, BratsAdapter

TOP = "MICCAI_BraTS_2018_Data_Training"
#: per channel (t1, t1ce, t2, flair): intensity of brain, edema, enhancing rim, necrotic core
INTENSITY = {"t1": (400, 330, 380, 200), "t1ce": (420, 400, 900, 250), "t2": (300, 650, 600, 800),
             "flair": (350, 800, 650, 500)}


def make_case(seed: int, shape: tuple[int, int, int]) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """({modality: float32 (D, H, W)}, seg with BraTS raw values)."""
    rng = np.random.default_rng(seed)
    d, h, w = shape
    zz, yy, xx = np.meshgrid(np.arange(d), np.arange(h), np.arange(w), indexing="ij")
    head = ((zz - d / 2) / (0.45 * d)) ** 2 + ((yy - h / 2) / (0.45 * h)) ** 2 + ((xx - w / 2) / (0.42 * w)) ** 2 <= 1
    radius = min(shape) * rng.uniform(0.16, 0.22)
    centre = np.array([d / 2, h / 2, w / 2]) + rng.uniform(-0.12, 0.12, 3) * np.array(shape)
    stretch = rng.uniform(0.8, 1.25, 3)
    r = np.sqrt(sum(((g - c) / s) ** 2 for g, c, s in zip((zz, yy, xx), centre, stretch, strict=True)))
    wobble = 1 + 0.15 * np.sin(3 * np.arctan2(yy - centre[1], xx - centre[2]) + seed)
    seg = np.zeros(shape, np.uint8)
    seg[(r <= radius * wobble) & head] = 2  # edema
    seg[(r <= 0.6 * radius) & head] = 4  # enhancing rim
    seg[(r <= 0.35 * radius) & head] = 1  # necrotic core
    channels = {}
    for modality in CHANNEL_SUFFIXES:
        brain, edema, rim, core = INTENSITY[modality]
        image = np.where(head, brain, 0.0).astype(np.float32)
        image[seg == 2], image[seg == 4], image[seg == 1] = edema, rim, core
        image += head * rng.normal(0, 40, shape).astype(np.float32)
        channels[modality] = np.clip(image, 0, None).astype(np.float32)
    return channels, seg


def write_nifti(path: Path, array: np.ndarray) -> None:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((1.0, 1.0, 1.0))
    image.SetOrigin((0.0, -239.0, 0.0))
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), useCompression=True)


class Adapter(BratsAdapter):
    """Options: ``subjects`` (default 8), ``shape`` (D, H, W; default 40 x 48 x 44), ``seed``."""

    def prepare_raw(self, raw: Path) -> None:
        shape = tuple(int(s) for s in self.options.get("shape", [40, 48, 44]))
        if len(shape) != 3 or min(shape) < 8:
            raise InputDataError(f"brats2018_phantom: option shape {list(shape)} must be 3 sizes >= 8 (D, H, W)")
        seed = int(self.options.get("seed", 20182))
        rows = [{"subject": f"Brats18_PHAN_{i:03d}_1", "seed": str(seed + i), "shape": json.dumps(list(shape))}
                for i in range(int(self.options.get("subjects", 8)))]
        info = raw / "info.csv"
        if info.is_file():
            with info.open() as handle:
                if list(csv.DictReader(handle)) == rows:
                    return
        for row in rows:
            channels, seg = make_case(int(row["seed"]), shape)  # type: ignore[arg-type]
            folder = raw / TOP / "HGG" / row["subject"]
            for modality, array in channels.items():
                write_nifti(folder / f"{row['subject']}_{modality}.nii.gz", array)
            write_nifti(folder / f"{row['subject']}_{SEG_SUFFIX}.nii.gz", seg)
        with info.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["subject", "seed", "shape"])
            writer.writeheader()
            writer.writerows(rows)
