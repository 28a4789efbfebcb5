"""The long metrics CSV of ``segarena evaluate``: checked for writing first, never half-written, a fallback on failure.

Columns ``case, label, metric, value, status, reason``; rows sorted by case, then in the
structure and metric order of the case. If the write fails, the rows go to a fallback file
next to the predictions folder and :class:`InputDataError` says where.
"""

from __future__ import annotations

import csv
import logging
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from harness.errors import InputDataError
from harness.metrics.case import MetricRow

log = logging.getLogger(__name__)

CSV_COLUMNS: tuple[str, ...] = ("case", "label", "metric", "value", "status", "reason")


def check_csv_writable(out_csv: Path, what: str = "the metrics CSV") -> None:
    """Raise InputDataError unless ``out_csv`` can be written (checked before anything is computed)."""
    if out_csv.is_dir():
        raise InputDataError(f"{what} {out_csv} is a folder; give a file name such as {out_csv / 'metrics.csv'}")
    folder = out_csv.parent
    existing = next((p for p in (folder, *folder.parents) if p.exists()), None)
    if existing is None or not existing.is_dir():
        raise InputDataError(f"{what} {out_csv}: {existing} is not a folder, so the CSV cannot be written there; "
                             "give another path")  # fmt: skip
    if not os.access(existing, os.W_OK | os.X_OK):
        raise InputDataError(f"{what} {out_csv}: folder {existing} is not writable; give another path")
    try:
        folder.mkdir(parents=True, exist_ok=True)  # the CSV's folder is made now rather than after scoring
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".segarena-write-check-"):
            pass
    except OSError as err:
        raise InputDataError(f"{what} {out_csv}: cannot write in {folder} ({err.strerror or err}); "
                             "give another path") from err  # fmt: skip


def _write_csv(out_csv: Path, results: Mapping[str, list[MetricRow]]) -> int:
    out_csv.parent.mkdir(parents=True, exist_ok=True)
    partial = out_csv.with_name(out_csv.name + ".partial")
    n_rows = 0
    try:
        with partial.open("w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(CSV_COLUMNS)
            for case in sorted(results):
                for row in results[case]:
                    writer.writerow((case, row.label, row.metric, repr(row.value), row.status, row.reason))
                    n_rows += 1
        os.replace(partial, out_csv)
    except OSError:
        partial.unlink(missing_ok=True)  # ours: never leave half a CSV behind
        raise
    return n_rows


def _fallback_csv(prediction_dir: Path) -> Path:
    """A new file next to the predictions folder (never an existing one): ``<folder>.segarena-metrics[-N].csv``."""
    base = prediction_dir.resolve()
    for n in range(1, 1000):
        candidate = base.parent / f"{base.name}.segarena-metrics{'' if n == 1 else f'-{n}'}.csv"
        if not candidate.exists():
            return candidate
    return base.parent / f"{base.name}.segarena-metrics-{os.getpid()}.csv"


def write_results(out_csv: Path, results: Mapping[str, list[MetricRow]], prediction_dir: Path) -> int:
    """Write the CSV; if that fails keep the rows in a fallback file and raise InputDataError saying where."""
    try:
        return _write_csv(out_csv, results)
    except OSError as err:
        failure = f"could not write the metrics CSV {out_csv} ({err.strerror or err})"
        temporary = Path(tempfile.gettempdir()) / f"segarena-metrics-{os.getpid()}.csv"
        for fallback in (_fallback_csv(prediction_dir), temporary):
            try:
                _write_csv(fallback, results)
            except OSError:
                continue
            log.error("%s; the results are in %s", failure, fallback)
            raise InputDataError(
                f"{failure}; the {len(results)} scored case(s) are kept in {fallback}: "
                "move that file where you want it, or free space and run again"
            ) from err
        raise InputDataError(
            f"{failure}, nor a fallback next to {prediction_dir} or in the temporary folder; "
            "free space or give a writable path and run again"
        ) from err
