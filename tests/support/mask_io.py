"""Mask-folder helpers shared by the metrics tests (a uniquely named module: `conftest` names collide)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk

SPACING_XYZ = (0.7, 0.8, 3.0)  # SimpleITK order; the array order is (3.0, 0.8, 0.7)
ORIGIN_XYZ = (-10.0, 5.0, 2.5)


def make_labels(seed: int, shape: tuple[int, int, int] = (6, 24, 20)) -> np.ndarray:
    """A label map with LV=1 inside MYO=2 and a separate RV=3, jittered by ``seed``."""
    rng = np.random.default_rng(seed)
    z, y, x = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    cy, cx = 12 + rng.integers(-1, 2), 11 + rng.integers(-1, 2)
    radius = np.hypot(y - cy, x - cx)
    labels = np.zeros(shape, dtype=np.uint8)
    labels[(radius < 6) & (z < 5)] = 2
    labels[(radius < 4) & (z < 5)] = 1
    labels[(np.hypot(y - cy, x - 3) < 2.5) & (z > 0) & (z < 5)] = 3
    return labels


def write_mask(path: Path, labels: np.ndarray, spacing_xyz: tuple[float, ...] = SPACING_XYZ,
               origin_xyz: tuple[float, ...] = ORIGIN_XYZ) -> Path:  # fmt: skip
    image = sitk.GetImageFromArray(labels)
    image.SetSpacing(spacing_xyz)
    image.SetOrigin(origin_xyz)
    sitk.WriteImage(image, str(path))
    return path


