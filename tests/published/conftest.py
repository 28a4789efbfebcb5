"""Fixtures: the real cmr-seg-tl reference data (loaded once) and a tiny synthetic copy of its layout."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from harness.published import PublishedCineResults, load_cmr_seg_tl_kaggle
from harness.published.cmr_seg_tl import MODELS

REFDATA_DIR = Path(__file__).resolve().parents[3] / "shared" / "refdata" / "cmr-seg-tl"


@pytest.fixture(scope="session")
def refdata_dir() -> Path:
    if not (REFDATA_DIR / "kaggle").is_dir():
        pytest.skip(f"cmr-seg-tl reference data not found at {REFDATA_DIR}")
    return REFDATA_DIR


@pytest.fixture(scope="session")
def kaggle_results(refdata_dir: Path) -> PublishedCineResults:
    return load_cmr_seg_tl_kaggle(refdata_dir)


# Tiny refdata: series "1" (with a _rot90 copy that must win), "2_a" and "2_b" (same patient 2), "3".
# Per frame: LV pixel counts of two slices; all models predict the same except r34_p05_s128.
FRAMES_PX = {
    "1": [(10, 10), (5, 5), (20, 20)],  # must be ignored: 1_rot90 exists
    "1_rot90": [(100, 100), (50, 50), (100, 100)],  # ED frame 0 (tie with 2: first), ES frame 1
    "2_a": [(60, 40), (30, 20), (80, 20)],
    "2_b": [(0, 0), (0, 0), (0, 0)],  # empty: EDV = 0
    "3": [(10, 30), (40, 0), (20, 10)],
}


def write_tiny_refdata(root: Path) -> Path:
    kaggle = root / "kaggle"
    (kaggle / "predictions").mkdir(parents=True)
    (kaggle / "truth").mkdir()
    rows = []
    for series, frames in FRAMES_PX.items():
        for f, slices in enumerate(frames):
            for s, count in enumerate(slices):
                row: dict[str, object] = {"image": f"{series}-frame{f:03d}-slice{s:03d}"}
                row.update({m: (count // 4 if m == "r34_p05_s128" else count) for m in MODELS})
                rows.append(row)
    pd.DataFrame(rows).to_csv(kaggle / "predictions" / "lv_pixels_per_image_10models.tsv.xz", sep="\t", index=False)
    dims = pd.DataFrame(
        {
            "pid": ["1", "2_a", "2_b", "3"],
            "X": [192, 256, 256, 256],
            "Y": [256, 256, 256, 128],
            "pixelSpacingX": [1.5, 1.0, 1.0, 2.0],
            "pixelSpacingY": [1.5, 1.0, 1.0, 2.0],
            "sliceSpacing": [10.0, 10.0, 10.0, 5.0],
            "scaleFactor": [1.0, 1.0, 1.0, 0.5],
        }
    )
    dims.to_csv(kaggle / "patient_dimensions.tsv", sep="\t", index=False)
    pd.DataFrame({"Id": [1, 2], "Systole": [50.0, 30.0], "Diastole": [100.0, 60.0]}).to_csv(
        kaggle / "truth" / "train.csv", index=False
    )
    pd.DataFrame({"Id": [], "Systole": [], "Diastole": []}).to_csv(kaggle / "truth" / "validate.csv", index=False)
    pd.DataFrame({"Id": ["3_Diastole", "3_Systole"], "Volume": [80.0, 20.0], "Usage": ["Public", "Public"]}).to_csv(
        kaggle / "truth" / "solution.csv", index=False
    )
    ukbb = pd.DataFrame(
        {"LVEDV (mL)": [99.0, 0.0, 61.0, 62.0, 70.0], "LVESV (mL)": [49.0, 0.0, 31.0, 32.0, 21.0]},
        index=["1", "1_rot90", "2_a", "2_b", "3"],
    )
    ukbb.to_csv(kaggle / "ukbb_ventricular_volumes.csv.xz")
    return root


@pytest.fixture()
def tiny_refdata_dir(tmp_path: Path) -> Path:
    """A synthetic cmr-seg-tl folder with four series whose volumes are computed by hand in the tests."""
    return write_tiny_refdata(tmp_path / "cmr-seg-tl")
