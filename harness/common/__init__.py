"""The common format: nnU-Net v2's raw layout plus SegArena's case metadata.

A converted dataset is a folder ``<root>/`` holding::

    dataset.json                nnU-Net v2 metadata (channel_names, labels, numTraining, file_ending)
    imagesTr/<case>_<ch:04d>.nii.gz   images of cases that have a reference label
    labelsTr/<case>.nii.gz      their label maps (consecutive integers)
    imagesTs/<case>_<ch:04d>.nii.gz   images without a reference (e.g. un-contoured cine frames)
    cases.csv                   one row per case (see :class:`CaseRecord`)
    subjects.csv                subject-level truth (EDV/ESV, ...), optional
    conversion_log.csv          what the adapter changed or rejected, one row per event

Use :class:`DatasetWriter` to write one, :class:`CommonDataset` to read one and
:func:`validate_dataset` to list everything wrong with one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.lazy import lazy_exports

if TYPE_CHECKING:  # the real names for type checkers; at run time they load on first use
    from harness.common.dataset import CommonDataset, DatasetWriter
    from harness.common.images import Geometry, LabelMap, ScalarImage, read_image, read_label, write_image
    from harness.common.records import CaseRecord, ConversionEvent
    from harness.common.validate import Problem, validate_dataset


_EXPORTS: dict[str, str] = {
    "CommonDataset": "harness.common.dataset",
    "DatasetWriter": "harness.common.dataset",
    "Geometry": "harness.common.images",
    "LabelMap": "harness.common.images",
    "ScalarImage": "harness.common.images",
    "read_image": "harness.common.images",
    "read_label": "harness.common.images",
    "write_image": "harness.common.images",
    "CaseRecord": "harness.common.records",
    "ConversionEvent": "harness.common.records",
    "Problem": "harness.common.validate",
    "validate_dataset": "harness.common.validate",
}

__all__ = [
    "CaseRecord",
    "CommonDataset",
    "ConversionEvent",
    "DatasetWriter",
    "Geometry",
    "LabelMap",
    "Problem",
    "ScalarImage",
    "read_image",
    "read_label",
    "validate_dataset",
    "write_image",
]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
