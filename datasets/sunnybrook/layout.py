"""Find Sunnybrook cases in any of the three raw layouts (see README.md).

One walk over the raw folder collects:

- contour files ``IM-0001-NNNN-{i,o,p1,p2}contour-manual.txt``; their case is
  the first folder above them that is not one of the layouts' container
  folders (``i-contours``, ``o-contours``, ``contours-manual``,
  ``IRCCI-expert``, ...);
- id tables mapping the DICOM patient folder to the case name:
  ``link.csv`` (``patient_id,original_id``, derived final_data layout) or
  ``scd_patientdata.csv`` (``PatientID,OriginalID,...``, Cardiac Atlas
  Project layout);
- DICOM folders: a folder named after a case (original challenge layout,
  ``SC-HF-I-1``) or after a patient id of an id table (``SCD0000101``),
  outside the contour trees.

Case names are compared without zero padding (``SC-HF-I-01`` = ``SC-HF-I-1``).
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import InputDataError

CONTOUR_NAME = re.compile(r"^IM-(?P<series>\d+)-(?P<image>\d+)-(?P<kind>i|o|p1|p2)contour-manual\.txt$", re.IGNORECASE)
CONTAINER_FOLDERS = {"i-contours", "o-contours", "p1-contours", "p2-contours", "contours-manual", "ircci-expert"}
_CASE_NAME = re.compile(r"^(?P<stem>SC-[A-Z]+(?:-[A-Z]+)*)-0*(?P<number>\d+)$", re.IGNORECASE)
ID_TABLES = {"link.csv": ("patient_id", "original_id"), "scd_patientdata.csv": ("patientid", "originalid")}


def normalise_case(name: str) -> str:
    """``SC-HF-I-01`` → ``SC-HF-I-1``; names of another form are returned unchanged."""
    match = _CASE_NAME.match(name)
    return f"{match['stem'].upper()}-{int(match['number'])}" if match else name


@dataclass(frozen=True)
class ContourFile:
    path: Path
    image_number: int  # NNNN: the DICOM InstanceNumber in the short-axis cine series
    kind: str  # i (endocardium), o (epicardium), p1 / p2 (papillary muscles)


@dataclass
class SunnybrookCase:
    case: str
    patient_id: str = ""
    image_dirs: list[Path] = field(default_factory=list)
    contours: list[ContourFile] = field(default_factory=list)
    info: dict[str, str] = field(default_factory=dict)  # extra columns of scd_patientdata.csv


def _read_id_table(path: Path) -> dict[str, dict[str, str]]:
    """patient id → row (with ``original_id``), from link.csv or scd_patientdata.csv."""
    id_key, case_key = ID_TABLES[path.name.lower()]
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise InputDataError(f"{path}: cannot be read as CSV ({err})") from err
    table: dict[str, dict[str, str]] = {}
    for line, row in enumerate(rows, start=2):
        lowered = {str(k).strip().lower(): (v or "").strip() for k, v in row.items() if k is not None}
        if id_key not in lowered or case_key not in lowered:
            raise InputDataError(
                f"{path}: expected columns {id_key} and {case_key} (any case), found {list(row)}"
            )
        if not lowered[id_key] or not lowered[case_key]:
            raise InputDataError(f"{path}: line {line} has an empty {id_key} or {case_key}")
        table[lowered[id_key]] = {**lowered, "original_id": normalise_case(lowered[case_key])}
    return table


def find_cases(raw: Path) -> list[SunnybrookCase]:
    """All cases with contours and/or a DICOM folder in ``raw``, sorted by name."""
    contour_files: list[tuple[str, ContourFile]] = []
    dicom_dirs: set[Path] = set()
    id_tables: list[Path] = []
    for folder, subfolders, files in os.walk(raw):
        subfolders.sort()
        here = Path(folder)
        for name in sorted(files):
            lower = name.lower()
            match = CONTOUR_NAME.match(name)
            if match:
                owner = here
                while owner.name.lower() in CONTAINER_FOLDERS and owner != raw:
                    owner = owner.parent
                contour_files.append(
                    (normalise_case(owner.name), ContourFile(here / name, int(match["image"]), match["kind"].lower()))
                )
            elif lower.endswith(".dcm"):
                dicom_dirs.add(here)
            elif lower in ID_TABLES:
                id_tables.append(here / name)

    by_patient: dict[str, dict[str, str]] = {}
    for table in id_tables:
        by_patient.update(_read_id_table(table))
    cases: dict[str, SunnybrookCase] = {}
    for case_name, contour in contour_files:
        cases.setdefault(case_name, SunnybrookCase(case_name)).contours.append(contour)
    for patient_id, row in by_patient.items():
        case = cases.setdefault(row["original_id"], SunnybrookCase(row["original_id"]))
        case.patient_id = patient_id
        case.info = {k: v for k, v in row.items() if k not in ("original_id", "originalid", "patient_id", "patientid")}

    # a DICOM folder belongs to the case named like one of its ancestors (patient id or case name), top-most first
    contour_roots = {c.path.parent for _, c in contour_files}
    patient_to_case = {pid: row["original_id"] for pid, row in by_patient.items()}
    for dicom_dir in sorted(dicom_dirs):
        if dicom_dir in contour_roots:
            continue
        for ancestor in [*reversed(dicom_dir.relative_to(raw).parents), dicom_dir.relative_to(raw)]:
            name = ancestor.name
            if not name:
                continue
            owner_case = patient_to_case.get(name) or (normalise_case(name) if _CASE_NAME.match(name) else None)
            if owner_case is None:
                continue
            case = cases.setdefault(owner_case, SunnybrookCase(owner_case))
            top = raw / ancestor
            if top not in case.image_dirs:
                case.image_dirs.append(top)
            break
    # id tables list every patient of the full release: keep only the cases present in this raw folder
    return [cases[name] for name in sorted(cases) if cases[name].contours or cases[name].image_dirs]
