"""The Kaggle truth tables: ``train.csv``/``validate.csv`` (Id,Systole,Diastole) and ``solution.csv``.

``solution.csv`` (the test set's truth) has one row per volume: ``Id`` is
``<n>_Diastole`` or ``<n>_Systole``, with ``Volume`` (mL) and ``Usage``
(Public/Private). Systole is the end-systolic, Diastole the end-diastolic
LV blood-pool volume.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

from harness.errors import InputDataError

TRUTH_FILES = {"train": "train.csv", "validate": "validate.csv", "test": "solution.csv"}


@dataclass(frozen=True)
class Truth:
    patient_id: str
    set: str  # the set whose truth file lists the patient
    edv_ml: float | None
    esv_ml: float | None
    usage: str = ""  # test set only: Public or Private


def _volume(text: str, path: Path, line: int, column: str) -> float:
    try:
        value = float(text)
    except ValueError as err:
        raise InputDataError(f"{path.name} line {line}: {column} {text!r} is not a number (mL expected)") from err
    if not math.isfinite(value) or value < 0:
        raise InputDataError(f"{path.name} line {line}: {column} {text!r} is not a volume in mL (>= 0)")
    return value


def _rows(path: Path, required: tuple[str, ...]) -> list[tuple[int, dict[str, str]]]:
    with path.open(newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        header = [h.strip() for h in (reader.fieldnames or [])]
        missing = [c for c in required if c not in header]
        if missing:
            raise InputDataError(
                f"{path.name}: column(s) {', '.join(missing)} missing; expected header {','.join(required)}, "
                f"found {','.join(header) or '(empty file)'}"
            )
        return [(i + 2, {(k or "").strip(): (v or "").strip() for k, v in row.items()}) for i, row in enumerate(reader)]


def read_truth(raw: Path) -> dict[str, Truth]:
    """All truth rows found in ``raw`` by patient Id (absent files are simply skipped)."""
    truth: dict[str, Truth] = {}

    def add(item: Truth, path: Path, line: int) -> None:
        if item.patient_id in truth:
            raise InputDataError(f"{path.name} line {line}: Id {item.patient_id} appears twice in the truth files")
        truth[item.patient_id] = item

    for set_name in ("train", "validate"):
        path = raw / TRUTH_FILES[set_name]
        if path.is_file():
            for line, row in _rows(path, ("Id", "Systole", "Diastole")):
                add(Truth(row["Id"], set_name, _volume(row["Diastole"], path, line, "Diastole"),
                          _volume(row["Systole"], path, line, "Systole")), path, line)
    path = raw / TRUTH_FILES["test"]
    if path.is_file():
        volumes: dict[str, dict[str, float]] = {}
        usage: dict[str, str] = {}
        first_line: dict[str, int] = {}
        for line, row in _rows(path, ("Id", "Volume")):
            patient, _, phase = row["Id"].rpartition("_")
            if phase not in ("Diastole", "Systole") or not patient:
                raise InputDataError(f"{path.name} line {line}: Id {row['Id']!r} is not <Id>_Diastole or <Id>_Systole")
            if phase in volumes.setdefault(patient, {}):
                raise InputDataError(f"{path.name} line {line}: {row['Id']} appears twice")
            volumes[patient][phase] = _volume(row["Volume"], path, line, "Volume")
            usage.setdefault(patient, row.get("Usage", ""))
            first_line.setdefault(patient, line)
        for patient, phases in volumes.items():
            add(Truth(patient, "test", phases.get("Diastole"), phases.get("Systole"), usage[patient]), path,
                first_line[patient])
    return truth
