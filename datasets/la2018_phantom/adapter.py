"""Generated LASC-style cases: an atrium-like blob (body + a vein stub) in a textured LGE-MRI-like volume.

``prepare_raw`` writes ``Training Set/<case>/{lgemri,laendo}.nrrd`` (uint8, 0/255 masks, LASC's 0.625 mm
spacing); discovery and conversion are the la2018 format code's (``segarena_datasets.shared.lasc``), so a
method trained on these cases meets exactly what the real challenge data becomes. The structure sits at a
random place (sometimes touching the volume's edge) beside a bright distractor, so a locator has to find it.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from harness.errors import InputDataError
from segarena_datasets.shared.lasc import IMAGE_FILE, MASK_FILE, LascAdapter

SPACING_MM = 0.625


def make_case(seed: int, shape: tuple[int, int, int]) -> tuple[np.ndarray, np.ndarray]:
    """(image uint8, mask 0/1) of shape (D, H, W)."""
    rng = np.random.default_rng(seed)
    d, h, w = shape
    zz, yy, xx = np.meshgrid(np.arange(d), np.arange(h), np.arange(w), indexing="ij")
    radii = np.array([d * rng.uniform(0.22, 0.3), h * rng.uniform(0.12, 0.17), w * rng.uniform(0.12, 0.17)])
    # the centre may bring the structure up to the edge (edge cases of the crop code)
    centre = np.array([rng.uniform(radii[0] * 0.8, d - radii[0] * 0.8),
                       rng.uniform(radii[1] * 0.9, h - radii[1] * 0.9),
                       rng.uniform(radii[2] * 0.9, w - radii[2] * 0.9)])
    body = ((zz - centre[0]) / radii[0]) ** 2 + ((yy - centre[1]) / radii[1]) ** 2 + ((xx - centre[2]) / radii[2]) ** 2
    vein_dir = rng.normal(size=2)
    vein_dir /= np.linalg.norm(vein_dir)
    t = np.clip(((yy - centre[1]) * vein_dir[0] + (xx - centre[2]) * vein_dir[1]) / (radii[1] * 1.8), 0, 1)
    vy, vx = centre[1] + t * vein_dir[0] * radii[1] * 1.8, centre[2] + t * vein_dir[1] * radii[1] * 1.8
    vein = ((yy - vy) ** 2 + (xx - vx) ** 2) / (0.3 * radii[1]) ** 2 + ((zz - centre[0]) / (0.4 * radii[0])) ** 2
    mask = (body <= 1) | (vein <= 1)
    # a bright distractor (an enhanced wall elsewhere) of another shape: a thin slab
    image = 45 + 10 * np.sin(yy / 5.0 + seed) * np.cos(xx / 7.0) + rng.normal(0, 12, shape)
    slab_y = int(rng.integers(0, h))
    slab = (np.abs(yy - slab_y) <= 1) & (np.abs(xx - w / 2) <= w / 3)
    image[slab & ~mask] += 90
    image[mask] += 85 + rng.normal(0, 10, int(mask.sum()))
    return np.clip(image, 0, 255).astype(np.uint8), mask.astype(np.uint8)


def write_nrrd(path: Path, array: np.ndarray, origin: tuple[float, float, float]) -> None:
    image = sitk.GetImageFromArray(array)
    image.SetSpacing((SPACING_MM,) * 3)
    image.SetOrigin(origin)
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), useCompression=True)


class Adapter(LascAdapter):
    """Options: ``subjects`` (default 8), ``shape`` (D, H, W; default 22 x 72 x 76), ``seed``."""

    def _wanted(self) -> tuple[list[tuple[str, int]], tuple[int, int, int]]:
        shape = tuple(int(s) for s in self.options.get("shape", [22, 72, 76]))
        if len(shape) != 3 or min(shape) < 8:
            raise InputDataError(f"la2018_phantom: option shape {list(shape)} must be 3 sizes >= 8 (D, H, W)")
        seed = int(self.options.get("seed", 20181))
        return [(f"PHANTOM{i:04d}", seed + i) for i in range(int(self.options.get("subjects", 8)))], shape  # type: ignore[return-value]

    def prepare_raw(self, raw: Path) -> None:
        wanted, shape = self._wanted()
        info = raw / "info.csv"
        rows = [{"subject": s, "seed": seed, "shape": json.dumps(list(shape))} for s, seed in wanted]
        if info.is_file():
            with info.open() as handle:
                if list(csv.DictReader(handle)) == [{k: str(v) for k, v in r.items()} for r in rows]:
                    return
        for subject, seed in wanted:
            image, mask = make_case(seed, shape)
            folder = raw / "Training Set" / subject
            origin = (-0.5 * shape[2] * SPACING_MM, -0.5 * shape[1] * SPACING_MM, float(seed % 7))
            write_nrrd(folder / IMAGE_FILE, image, origin)
            write_nrrd(folder / MASK_FILE, (mask * 255).astype(np.uint8), origin)
        with info.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["subject", "seed", "shape"])
            writer.writeheader()
            writer.writerows(rows)
