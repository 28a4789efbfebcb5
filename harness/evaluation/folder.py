"""Score a folder of predicted masks against a folder of reference masks and write a long CSV (``segarena evaluate``).

Cases are matched by name (:mod:`harness.evaluation.files`). Every reference case gets rows,
and one bad file never stops the others (:mod:`harness.evaluation.case` says how each is
scored); predictions without a reference are not scored, they are listed in the result.
The CSV (:mod:`harness.evaluation.csvfile`) is checked for writing before anything is
scored. Cases run in parallel in a process pool when ``workers > 1``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, wait
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import InputDataError
from harness.evaluation.case import CaseFiles, score_case
from harness.evaluation.csvfile import check_csv_writable, write_results
from harness.evaluation.files import MASK_SUFFIXES, list_masks
from harness.metrics.case import MetricRow
from harness.metrics.settings import MetricsSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FolderEvaluation:
    """What :func:`evaluate_folders` did: where the CSV is and which cases could not be scored normally."""

    out_csv: Path
    n_cases: int
    n_rows: int
    missing_predictions: tuple[str, ...]
    invalid_predictions: tuple[str, ...]
    unmatched_predictions: tuple[str, ...]  # prediction files without a reference: not scored
    unreadable_references: tuple[str, ...] = ()  # reference files that cannot be used: rows with NaN
    reasons: dict[str, str] = field(default_factory=dict)  # case -> what is wrong with its file


@dataclass(frozen=True)
class CaseResult:
    """The rows of one case, and why its prediction (or its reference: ``reference_failed``) could not be used."""

    case: str
    rows: list[MetricRow]
    problem: str | None = None
    reference_failed: bool = False


def evaluate_case_files(
    case: str,
    reference_path: Path,
    prediction_path: Path | None,
    structures: Mapping[str, Sequence[int]],
    settings: MetricsSettings,
) -> CaseResult:
    """Read and score one case (runs in a worker process): its rows, without the label maps."""
    score = score_case(CaseFiles(case, reference_path, prediction_path), structures, settings)
    return CaseResult(case, score.rows, score.problem, score.reference_failed)


def evaluate_folders(
    reference_dir: Path,
    prediction_dir: Path,
    structures: Mapping[str, Sequence[int]],
    settings: MetricsSettings | None = None,
    out_csv: Path = Path("metrics.csv"),
    workers: int = 1,
    on_case_done: Callable[[str], None] | None = None,
) -> FolderEvaluation:
    """Score every reference case of ``reference_dir`` against ``prediction_dir``; write ``out_csv``.

    ``on_case_done(case)`` is called in this process after each case (for progress bars).
    ``workers`` > 1 runs cases in a process pool. Raises InputDataError for an empty or
    missing reference folder and an ``out_csv`` that cannot be written (before scoring);
    a bad mask file is a failed row of its case (see the module docstring).
    """
    settings = settings or MetricsSettings()
    check_csv_writable(Path(out_csv))
    references = list_masks(Path(reference_dir), "reference")
    predictions = list_masks(Path(prediction_dir), "prediction")
    if not references:
        raise InputDataError(f"reference folder {reference_dir} holds no masks ({', '.join(MASK_SUFFIXES)})")
    missing = tuple(sorted(set(references) - set(predictions)))
    unmatched = tuple(sorted(set(predictions) - set(references)))
    if unmatched:
        log.warning("%d prediction(s) without a reference, not scored: %s", len(unmatched), ", ".join(unmatched[:5]))
    jobs = [
        (case, path, predictions.get(case), dict(structures), settings) for case, path in sorted(references.items())
    ]
    results: dict[str, list[MetricRow]] = {}
    invalid: list[str] = []
    unreadable: list[str] = []
    reasons: dict[str, str] = {}

    def collect(result: CaseResult) -> None:
        results[result.case] = result.rows
        if result.problem is not None:
            reasons[result.case] = result.problem
            (unreadable if result.reference_failed else invalid).append(result.case)
            status = "reference_unreadable" if result.reference_failed else "invalid_prediction"
            log.info("case %s: %s; scored as %s", result.case, result.problem, status)  # summed up by the caller
        if on_case_done is not None:
            on_case_done(result.case)

    if workers <= 1 or len(jobs) == 1:
        for job in jobs:
            collect(evaluate_case_files(*job))
    else:
        from harness.common.workers import worker_pool  # workers die with a kill -9'd harness

        with worker_pool(min(workers, len(jobs)), preload=("harness.evaluation.folder",)) as pool:
            pending: set[Future[CaseResult]] = {pool.submit(evaluate_case_files, *job) for job in jobs}
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    error = future.exception()
                    if error is not None:
                        for other in pending:
                            other.cancel()
                        raise error
                    collect(future.result())
    n_rows = write_results(Path(out_csv), results, Path(prediction_dir))
    return FolderEvaluation(
        out_csv=Path(out_csv),
        n_cases=len(results),
        n_rows=n_rows,
        missing_predictions=missing,
        invalid_predictions=tuple(sorted(invalid)),
        unmatched_predictions=unmatched,
        unreadable_references=tuple(sorted(unreadable)),
        reasons=reasons,
    )
