"""Fixtures for the metrics tests: small mask folders written with SimpleITK, fixed geometry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
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


@pytest.fixture
def mask_folders(tmp_path: Path) -> Callable[..., tuple[Path, Path]]:
    """Reference and prediction folders: cases a (.nii.gz), b (.nrrd), c (.mha); prediction c missing,
    prediction d without reference, prediction e unreadable."""

    def build(**overrides: object) -> tuple[Path, Path]:
        reference_dir, prediction_dir = tmp_path / "ref", tmp_path / "pred"
        reference_dir.mkdir()
        prediction_dir.mkdir()
        for seed, (case, ending) in enumerate([("a", ".nii.gz"), ("b", ".nrrd"), ("c", ".mha"), ("e", ".nii.gz")]):
            write_mask(reference_dir / f"{case}{ending}", make_labels(seed))
            if case in ("a", "b"):
                write_mask(prediction_dir / f"{case}{ending}", make_labels(seed + 10), **overrides)  # type: ignore[arg-type]
        write_mask(prediction_dir / "d.nii.gz", make_labels(7))
        (prediction_dir / "e.nii.gz").write_bytes(b"not a nifti file")
        (prediction_dir / "notes.txt").write_text("ignored")
        return reference_dir, prediction_dir

    return build
