"""Published per-subject cine results: what a paper's methods predicted, next to the truth, with provenance."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from harness.errors import InputDataError

SUBJECT_COLUMNS = (
    "method",
    "subject",
    "patient",
    "ed_frame",
    "es_frame",
    "edv_pred_ml",
    "esv_pred_ml",
    "ef_pred_fraction",
    "edv_true_ml",
    "esv_true_ml",
    "ef_true_fraction",
)


@dataclass(frozen=True)
class SourceFile:
    """One input file: its path relative to the reference-data folder, its size and sha256."""

    name: str
    size_bytes: int
    sha256: str


@dataclass(frozen=True)
class PublishedTable:
    """A study-specific table a published entry adds to its report, written as ``<name>.csv`` beside it.

    ``name`` is the file stem (``dice_by_set``), ``title`` the heading shown above
    it, ``frame`` the rows (column names are the CSV header) and ``note`` one
    sentence saying how the values were computed.
    """

    name: str
    title: str
    frame: pd.DataFrame
    note: str = ""


@dataclass(frozen=True)
class PublishedCineResults:
    """Per method and subject: predicted and true EDV/ESV (ml) and EF (fractions; NaN when EDV ≤ 0).

    ``subjects`` has :data:`SUBJECT_COLUMNS`; ``subject`` is the id the study used
    for that series, ``patient`` the id the truth is keyed by, ``ed_frame`` /
    ``es_frame`` the frames the method's own curve picked (NaN when the study
    published volumes only). ``methods`` keeps the study's order.
    ``subjects`` may be empty (still with :data:`SUBJECT_COLUMNS`) when the study
    publishes no per-subject volumes against a truth; ``tables`` holds the
    study's own result tables (:class:`PublishedTable`).
    """

    study: str
    methods: tuple[str, ...]
    subjects: pd.DataFrame
    provenance: tuple[SourceFile, ...]
    conventions: tuple[str, ...] = ()
    tables: tuple[PublishedTable, ...] = ()


def describe_file(path: Path, root: Path) -> SourceFile:
    """Size and sha256 of ``path``, named relative to ``root``."""
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    except OSError as err:
        raise InputDataError(f"cannot read {path}: {err}") from err
    return SourceFile(name=path.relative_to(root).as_posix(), size_bytes=path.stat().st_size, sha256=digest.hexdigest())


def require_file(refdata_dir: Path, name: str, study: str, hint: str) -> Path:
    """``refdata_dir / name``, or an InputDataError naming the missing file, the study and where to look."""
    path = refdata_dir / name
    if not path.is_file():
        raise InputDataError(f"{study} reference data: {path} is missing; expected the refdata/cmr-seg-tl folder "
                             f"({hint})")
    return path
