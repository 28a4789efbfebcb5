"""Fixtures for the metrics tests: small mask folders written with SimpleITK, fixed geometry."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.mask_io import make_labels, write_mask


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
