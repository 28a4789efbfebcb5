"""The tables a report is built from (``ReportInputs``), handed over by whoever ran the jobs.

The report reads neither the plan nor the store: the runner assembles these rows
(``harness.runner.reporting``) and ``render_report`` turns them into the site.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd


@dataclass(frozen=True)
class Failure:
    job: str
    kind: str
    reason: str
    log: str  # the job's log, "" when there is none


@dataclass(frozen=True)
class ComputeRow:
    """What one leaderboard entry cost on one dataset, as the harness measured it (means over folds and seeds)."""

    dataset: str
    entry: str  # leaderboard entry (method · regime · subset)
    method: str
    parameters: int | None  # from the method's model_info.json
    train_s: float | None  # per training job
    predict_s: float | None  # per predict job
    predict_s_per_case: float | None
    train_peak_mb: float | None  # the largest over its training jobs (measured by the executor)
    predict_peak_mb: float | None
    device: str  # "CPU, 2 threads" / "GPU 0: NVIDIA A100 …"
    executor: str
    n_train_jobs: int
    n_predict_jobs: int
    params: dict[str, Any] = field(default_factory=dict)  # the entry's method params (the study table shows some)


@dataclass(frozen=True)
class Provenance:
    job: str
    key: str
    detail: str


@dataclass(frozen=True)
class Violations:
    job: str
    violations: list[str]


@dataclass(frozen=True)
class History:
    job: str
    history: list[dict[str, Any]]  # a method's history.csv, row by row, as it wrote it


@dataclass(frozen=True)
class SplitRow:
    """One dataset's split as a reader wants it: kind, fractions or folds, fixed test subjects, hash."""

    dataset: str
    kind: str
    detail: str  # "test 25 %, validation 0 %" / "5 folds (all)"
    test_subjects: list[str]
    sha256: str


@dataclass(frozen=True)
class OverlayCase:
    """One test case to draw: its image(s), reference and prediction files, and why it was chosen."""

    dataset: str
    entry: str
    case: str
    role: str  # best | median | worst
    value: float  # the ranking metric (mean over structures) of this case
    metric: str
    images: tuple[str, ...]  # absolute paths: channel files of the case (the first is drawn)
    reference: str
    prediction: str
    structures: tuple[tuple[str, tuple[int, ...]], ...]  # structure name → label values (regions: several)


@dataclass
class ReportInputs:
    metrics: pd.DataFrame  # one row per (case, label, metric): the rows of metrics.csv
    subjects: pd.DataFrame  # one row per subject: volumes, EF and their errors
    failures: list[Failure] = field(default_factory=list)
    compute: list[ComputeRow] = field(default_factory=list)
    provenance: list[Provenance] = field(default_factory=list)
    violations: list[Violations] = field(default_factory=list)
    histories: list[History] = field(default_factory=list)
    #: Test cases to draw per dataset × entry: best, median and worst by the ranking metric (see report/overlays.py)
    overlays: list[OverlayCase] = field(default_factory=list)
    #: Where each job's result came from, as data: image IDs, code and weight hashes, dataset hashes (report.json)
    lineage: list[dict[str, Any]] = field(default_factory=list)
    splits: list[SplitRow] = field(default_factory=list)
    #: Absolute path prefixes of this machine -> what a published page shows instead (``<run>``, ``<cache>``,
    #: ``<checkout>``, ``~``, ``<raw:acdc>``), longest first: every string of the page and report.json goes
    #: through :func:`harness.report.publishable.scrub`.
    hidden_paths: dict[str, str] = field(default_factory=dict)
