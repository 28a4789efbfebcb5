"""Dataset plug point: cards (``datasets/<name>/dataset.yaml``), adapters and conversion.

An adapter turns one raw dataset folder into the common format. It is a class
in ``datasets/<name>/adapter.py`` named ``Adapter`` that subclasses
:class:`harness.datasets.adapter.DatasetAdapter`.
"""

from __future__ import annotations

from harness.datasets.adapter import DatasetAdapter, RawSubject, SubjectResult
from harness.datasets.card import CARDIAC_LABELS, DatasetCard
from harness.datasets.convert import convert_dataset
from harness.datasets.registry import DatasetRegistry

__all__ = [
    "CARDIAC_LABELS",
    "DatasetAdapter",
    "DatasetCard",
    "DatasetRegistry",
    "RawSubject",
    "SubjectResult",
    "convert_dataset",
]
