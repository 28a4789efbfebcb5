"""Cine frames as cases, for the acdc and mnms adapters: one case per (subject, frame).

Case ids are ``<subject>_f<frame:02d>`` with the **0-based** frame index (the
``frame`` column of cases.csv), whatever the raw file names count from.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.common.dataset import write_case_files
from harness.common.images import LabelMap, ScalarImage
from harness.common.records import CaseRecord

LV = 1  # canonical cardiac map: 1 LV blood pool, 2 MYO, 3 RV


@dataclass(frozen=True)
class FrameCase:
    """One frame read and checked, not yet written."""

    phase: str  # ED, ES or ""
    frame: int  # 0-based
    image: ScalarImage
    label: LabelMap | None
    sources: tuple[Path, ...]


def write_frame_case(
    raw: Path, out: Path, subject: str, case: FrameCase, site: str = "", vendor: str = ""
) -> CaseRecord:
    spacing = case.image.geometry.spacing_mm
    record = CaseRecord(
        case=f"{subject}_f{case.frame:02d}", subject=subject, phase=case.phase, frame=case.frame,
        n_slices=int(case.image.array.shape[0]), spacing_x_mm=spacing[0], spacing_y_mm=spacing[1],
        spacing_z_mm=spacing[2], has_label=case.label is not None, group=subject, site=site, vendor=vendor,
        source_files=";".join(p.relative_to(raw).as_posix() for p in case.sources),
    )
    write_case_files(out, record, [case.image], case.label, max_label=3)
    return record


def lv_volumes(cases: Sequence[FrameCase]) -> dict[str, float | None]:
    """``edv_ml``, ``esv_ml``, ``ef_pct`` of the LV blood pool from the labelled ED and ES cases (None if absent)."""
    volume_ml: dict[str, float] = {}
    for case in cases:
        if case.phase in ("ED", "ES") and case.label is not None:
            voxels = np.count_nonzero(case.label.array == LV)
            volume_ml[case.phase] = float(voxels) * case.label.geometry.voxel_volume_ml
    edv, esv = volume_ml.get("ED"), volume_ml.get("ES")
    if edv is None or esv is None:
        return {"edv_ml": None, "esv_ml": None, "ef_pct": None}
    return {
        "edv_ml": round(edv, 4), "esv_ml": round(esv, 4),
        "ef_pct": round(100 * (edv - esv) / edv, 4) if edv > 0 else None,
    }
