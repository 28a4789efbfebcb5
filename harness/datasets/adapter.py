"""The adapter interface: discover raw subjects, convert one subject at a time."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.common.records import CaseRecord, ConversionEvent
from harness.datasets.card import DatasetCard


@dataclass(frozen=True)
class RawSubject:
    """One subject's raw files, as found by :meth:`DatasetAdapter.discover`."""

    subject: str
    files: tuple[Path, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class SubjectResult:
    """What converting one subject produced: its cases, truth rows and log events."""

    records: list[CaseRecord] = field(default_factory=list)
    subject_rows: list[dict[str, object]] = field(default_factory=list)
    events: list[ConversionEvent] = field(default_factory=list)


class DatasetAdapter(ABC):
    """Base class of every adapter; subclasses are named ``Adapter``.

    Subjects are converted independently (possibly in worker processes), so
    :meth:`convert_subject` must only write files of its own cases, through
    :func:`harness.common.dataset.write_case_files`.
    """

    def __init__(self, card: DatasetCard, options: dict[str, Any] | None = None) -> None:
        self.card = card
        self.options = dict(options or {})

    def prepare_raw(self, raw: Path) -> None:  # noqa: B027 - optional hook
        """Generate the raw data into ``raw`` (only for cards with ``generated: true``)."""

    @abstractmethod
    def discover(self, raw: Path) -> list[RawSubject]:
        """List the subjects in a raw folder; raise InputDataError if it is not this dataset."""

    @abstractmethod
    def convert_subject(self, raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
        """Convert one subject into ``out``; raise InputDataError naming the bad file."""

    def finish(self, raw: Path, out: Path, results: list[SubjectResult]) -> list[ConversionEvent]:
        """Dataset-wide checks after all subjects (e.g. label consistency); returns extra events."""
        return []
