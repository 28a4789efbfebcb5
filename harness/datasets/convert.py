"""Run an adapter over a raw folder: subjects in parallel, failures logged, tables written."""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

from harness.common.dataset import DatasetWriter, read_csv
from harness.common.manifest import write_manifest
from harness.common.paths import (
    check_output_folder,
    discard_staging,
    folder_lock,
    make_staging,
    remove_stale_staging,
    swap_in,
)
from harness.common.records import ConversionEvent
from harness.datasets.adapter import DatasetAdapter, RawSubject, SubjectResult
from harness.errors import InputDataError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ConversionSummary:
    out: Path
    n_subjects: int
    n_cases: int
    n_failed_subjects: int
    events: tuple[ConversionEvent, ...]
    moved_aside: Path | None = None  # where the former contents of ``out`` went (``force``)


def _convert_in_worker(raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
    from harness.common.workers import worker_payload

    adapter = worker_payload()  # pickled once per worker (harness.common.workers.worker_pool)
    assert isinstance(adapter, DatasetAdapter)
    return _convert_one(adapter, raw, subject, out)


def _convert_one(adapter: DatasetAdapter, raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
    try:
        return adapter.convert_subject(raw, subject, out)
    except InputDataError as err:
        return SubjectResult(
            events=[ConversionEvent(subject.subject, "unreadable input", "subject skipped", str(err), severity="error")]
        )


def convert_dataset(
    adapter: DatasetAdapter,
    raw: Path,
    out: Path,
    workers: int = 1,
    on_subject_done: Callable[[str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    force: bool = False,
) -> ConversionSummary:
    """Convert ``raw`` into ``out``, put in place in one atomic rename when complete.

    ``out`` must be new, empty or a folder SegArena created; ``force`` moves the contents of
    any other folder aside (nothing is deleted). ``out`` may not be or contain ``raw`` (see
    :func:`harness.common.paths.check_output_folder`). The conversion runs in a unique staging
    folder beside ``out`` under a lock on ``out``, so two conversions into the same folder run
    one after the other. A subject that fails with :class:`InputDataError` is
    logged with severity ``error`` and skipped; the others are converted; if no case is
    converted, ``out`` is left alone and :class:`InputDataError` names the log. Any other
    exception is a bug in the adapter and propagates.
    """
    target = check_output_folder(out, "output folder", inputs=[raw], force=force,
                                 force_hint="pass --force to move its contents aside (nothing is deleted)")
    with folder_lock(target):
        return convert_locked(adapter, raw, target, workers, on_subject_done, on_start, force)


def convert_locked(
    adapter: DatasetAdapter,
    raw: Path,
    out: Path,
    workers: int = 1,
    on_subject_done: Callable[[str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
    force: bool = False,
    recognise: Callable[[Path], bool] | None = None,
) -> ConversionSummary:
    """:func:`convert_dataset` for a caller that checked ``out`` and holds its :func:`folder_lock`.

    ``recognise`` claims an unmarked old ``out`` as SegArena's (see :func:`~harness.common.paths.swap_in`).
    """
    card = adapter.card
    if card.generated:
        raw.mkdir(parents=True, exist_ok=True)
        adapter.prepare_raw(raw)
    if not raw.is_dir():
        raise InputDataError(f"raw folder {raw} of dataset '{card.name}' does not exist")
    subjects = adapter.discover(raw)
    card = adapter.card  # an adapter may learn its label map while discovering (spine_slices)
    if not subjects:
        raise InputDataError(
            f"{raw}: no subjects of dataset '{card.name}' found; expected layout:\n{card.raw_layout}"
        )
    if on_start:
        on_start(len(subjects))
    remove_stale_staging(out)
    staging = make_staging(out, "dataset")
    try:
        writer = _convert_into(adapter, raw, subjects, staging, workers, on_subject_done)
        if not writer.records:
            log_path = _keep_log(staging, out)
            raise InputDataError(_nothing_converted(raw, out, card.name, len(subjects), writer.events, log_path))
        write_manifest(staging)
    except BaseException:
        discard_staging(staging)
        raise
    moved_aside = swap_in(staging, out, force=force, recognise=recognise)
    failed = {e.subject for e in writer.events if e.severity == "error"}
    return ConversionSummary(out, len(subjects), len(writer.records), len(failed), tuple(writer.events), moved_aside)


def _convert_into(
    adapter: DatasetAdapter,
    raw: Path,
    subjects: list[RawSubject],
    staging: Path,
    workers: int,
    on_subject_done: Callable[[str], None] | None,
) -> DatasetWriter:
    card = adapter.card
    writer = DatasetWriter(staging, card.name, card.channels, card.labels, card.regions or None, card.title)
    results: list[SubjectResult] = []
    if workers <= 1 or len(subjects) == 1:
        for subject in subjects:
            results.append(_convert_one(adapter, raw, subject, staging))
            if on_subject_done:
                on_subject_done(subject.subject)
    else:
        from harness.common.workers import worker_pool  # workers die with a kill -9'd harness

        with worker_pool(workers, payload=adapter, preload=("harness.datasets.convert",)) as pool:
            futures: list[tuple[RawSubject, Future[SubjectResult]]] = [
                (s, pool.submit(_convert_in_worker, raw, s, staging)) for s in subjects
            ]
            for subject, future in futures:
                results.append(future.result())
                if on_subject_done:
                    on_subject_done(subject.subject)
    for result in results:
        writer.add_records(result.records)
        for row in result.subject_rows:
            writer.add_subject(row)
        for event in result.events:
            writer.log(event)
    for event in adapter.finish(raw, staging, results):
        writer.log(event)
    writer.finalize()
    return writer


def _keep_log(staging: Path, out: Path) -> Path:
    """Copy a failed conversion's log beside ``out`` (replacing only an earlier such log)."""
    log_path = out.parent / f"{out.name}.conversion_log.csv"
    header = (staging / "conversion_log.csv").read_text().splitlines()[0]
    if log_path.exists() and (not log_path.is_file() or log_path.read_text().splitlines()[:1] != [header]):
        log_path = Path(tempfile.mkstemp(prefix=f"{out.name}.conversion_log-", suffix=".csv", dir=out.parent)[1])
    log_path.write_text((staging / "conversion_log.csv").read_text())
    return log_path


def _nothing_converted(
    raw: Path, out: Path, name: str, n_subjects: int, events: list[ConversionEvent], log_path: Path
) -> str:
    errors = [e for e in events if e.severity == "error"]
    lines = [f"  - {e.subject}: {e.detail}" for e in errors[:5]]
    if len(errors) > 5:
        lines.append(f"  ... and {len(errors) - 5} more")
    return "\n".join([
        f"raw folder {raw}: no case of dataset '{name}' was converted ({n_subjects} subjects found, "
        f"{len({e.subject for e in errors})} failed); {out} was left as it was. The conversion log is {log_path}",
        *lines,
    ])


def count_cases(folder: Path) -> int:
    """The number of cases a converted folder's cases.csv lists."""
    return len(read_csv(folder / "cases.csv"))


def count_failed_subjects(folder: Path) -> int:
    """The number of subjects a converted folder's conversion_log.csv records an error for."""
    path = folder / "conversion_log.csv"
    rows = read_csv(path) if path.is_file() else []
    return len({row["subject"] for row in rows if row.get("severity") == "error"})
