"""Volumes: a volume-output method's ``volumes.csv``, a volume-truth dataset's subject table, voxel volumes.

A method with ``output: volumes`` writes volumes, not masks: only volume rows are made for it
(mask metrics do not apply). A volume-truth dataset (kaggle_dsb) gives EDV / ESV per subject.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from harness.common.dataset import CommonDataset
from harness.common.images import LabelMap
from harness.common.records import CaseRecord

CLINICAL_NAMES = {"LV": "lv", "MYO": "myo", "RV": "rv"}


def compute_volumes_ml(label: LabelMap | None, structures: dict[str, list[int]], voxel_ml: float) -> dict[str, float]:
    """The volume in ml of each structure of ``label`` with voxels of ``voxel_ml`` ({} without a label map)."""
    if label is None:
        return {}
    return {name: float(np.isin(label.array, values).sum()) * voxel_ml for name, values in structures.items()}


def volume_rows(
    record: CaseRecord, structures: dict[str, list[int]], predicted_ml: dict[str, float], reference_ml: dict[str, float]
) -> list[dict[str, object]]:
    """One row per cine structure (LV, MYO, RV) of the case: ``subject, frame, phase, structure, volume_*_ml``."""
    return [{"subject": record.subject, "frame": record.frame if record.frame is not None else 0,
             "phase": record.phase, "structure": clinical_name,
             "volume_pred_ml": predicted_ml.get(name, math.nan), "volume_ref_ml": reference_ml.get(name, math.nan)}
            for name, clinical_name in CLINICAL_NAMES.items() if name in structures]  # fmt: skip


def subject_truth_table(dataset: CommonDataset) -> pd.DataFrame | None:
    """``subject, edv_ml, esv_ml`` of a volume-truth dataset's primary subjects (empty truth: NaN), or None.

    A subject row with ``primary`` false (an augmentation copy such as kaggle_dsb's ``_rot90``)
    is left out: it is never scored.
    """
    if not dataset.subjects:
        return None
    table = pd.DataFrame(dataset.subjects)
    if not {"subject", "edv_ml", "esv_ml"} <= set(table.columns):
        return None
    if "primary" in table.columns:
        table = table[table["primary"].astype(str).str.lower() != "false"]
    table = table[["subject", "edv_ml", "esv_ml"]].copy()
    for column in ("edv_ml", "esv_ml"):
        table[column] = pd.to_numeric(table[column].replace("", math.nan), errors="coerce")
    return table.reset_index(drop=True)


def read_volume_table(
    path: Path, cases: list[CaseRecord], structures: dict[str, list[int]]
) -> tuple[dict[str, dict[str, float]], list[str]]:
    """Read a volume-output method's ``volumes.csv`` (``case`` + one column per structure, ml).

    Returns the volumes by case and the problems found (each naming the case or the column).
    """
    problems: list[str] = []
    if not path.is_file():
        return {}, [f"{path.name}: missing (a method with `output: volumes` writes volumes.csv)"]
    try:
        table = pd.read_csv(path, dtype={"case": str})
    except (OSError, ValueError) as err:
        return {}, [f"{path.name}: unreadable ({err})"]
    if "case" not in table.columns:
        return {}, [f"{path.name}: no `case` column (columns: {', '.join(table.columns)})"]
    columns = [c for c in table.columns if c in structures]
    if not columns:
        problems.append(f"{path.name}: no column named after a structure ({', '.join(structures)})")
    volumes: dict[str, dict[str, float]] = {}
    for row in table.to_dict(orient="records"):
        values = {c: float(row[c]) for c in columns}
        if any(not math.isfinite(v) or v < 0 for v in values.values()):
            problems.append(f"{row['case']}: volumes must be finite and non-negative, got {values}")
            continue
        volumes[str(row["case"])] = values
    for record in cases:
        if record.case not in volumes:
            problems.append(f"{record.case}: no row in {path.name}")
    return volumes, problems
