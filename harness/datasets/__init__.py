"""Dataset plug point: cards (``datasets/<name>/dataset.yaml``), adapters and conversion.

An adapter turns one raw dataset folder into the common format. It is a class
in ``datasets/<name>/adapter.py`` named ``Adapter`` that subclasses
:class:`harness.datasets.adapter.DatasetAdapter`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy import lazy_exports

if TYPE_CHECKING:  # the real names for type checkers; at run time they load on first use
    from harness.datasets.adapter import DatasetAdapter, RawSubject, SubjectResult
    from harness.datasets.card import CARDIAC_LABELS, DatasetCard
    from harness.datasets.convert import convert_dataset
    from harness.datasets.registry import DatasetRegistry


_EXPORTS: dict[str, str] = {
    "DatasetAdapter": "harness.datasets.adapter",
    "RawSubject": "harness.datasets.adapter",
    "SubjectResult": "harness.datasets.adapter",
    "CARDIAC_LABELS": "harness.datasets.card",
    "DatasetCard": "harness.datasets.card",
    "convert_dataset": "harness.datasets.convert",
    "DatasetRegistry": "harness.datasets.registry",
}

__all__ = [
    "CARDIAC_LABELS",
    "DatasetAdapter",
    "DatasetCard",
    "DatasetRegistry",
    "RawSubject",
    "SubjectResult",
    "convert_dataset",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
