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
class RunTime:
    entry: str  # leaderboard entry (method · regime · subset)
    train_s: float
    predict_s: float


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


@dataclass
class ReportInputs:
    metrics: pd.DataFrame  # one row per (case, label, metric): the rows of metrics.csv
    subjects: pd.DataFrame  # one row per subject: volumes, EF and their errors
    failures: list[Failure] = field(default_factory=list)
    runtimes: list[RunTime] = field(default_factory=list)
    provenance: list[Provenance] = field(default_factory=list)
    violations: list[Violations] = field(default_factory=list)
    histories: list[History] = field(default_factory=list)
    splits: list[SplitRow] = field(default_factory=list)
    #: Absolute path prefixes of this machine -> what a published page shows instead (``<run>``, ``<cache>``,
    #: ``<checkout>``, ``~``, ``<raw:acdc>``), longest first: every string of the page and report.json goes
    #: through :func:`harness.report.publishable.scrub`.
    hidden_paths: dict[str, str] = field(default_factory=dict)
