"""Run an adapter over a raw folder: subjects in parallel, failures logged, tables written."""

from __future__ import annotations

import logging
import multiprocessing
import shutil
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from harness.common.dataset import DatasetWriter
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


_FORKED_ADAPTER: DatasetAdapter | None = None  # inherited by forked workers; adapters load from files and do not pickle


def _convert_in_worker(raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
    assert _FORKED_ADAPTER is not None
    return _convert_one(_FORKED_ADAPTER, raw, subject, out)


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
) -> ConversionSummary:
    """Convert ``raw`` into ``out`` (replaced atomically when complete).

    A subject that fails with :class:`InputDataError` is logged with
    severity ``error`` and skipped; the others are converted. Any other
    exception is a bug in the adapter and propagates.
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
    staging = out.with_name(out.name + ".partial")
    shutil.rmtree(staging, ignore_errors=True)
    writer = DatasetWriter(staging, card.name, card.channels, card.labels, card.regions or None, card.title)
    results: list[SubjectResult] = []
    if workers <= 1 or len(subjects) == 1:
        for subject in subjects:
            results.append(_convert_one(adapter, raw, subject, staging))
            if on_subject_done:
                on_subject_done(subject.subject)
    else:
        global _FORKED_ADAPTER
        _FORKED_ADAPTER = adapter
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
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
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    failed = {e.subject for e in writer.events if e.severity == "error"}
    return ConversionSummary(out, len(subjects), len(writer.records), len(failed), tuple(writer.events))
