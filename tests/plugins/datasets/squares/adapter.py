"""Adapter of the squares test dataset: one generated 32x32 slice per subject, a bright square labelled 1."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.common.dataset import write_case_files
from harness.common.images import Geometry, LabelMap, ScalarImage
from harness.common.records import CaseRecord
from harness.datasets.adapter import DatasetAdapter, RawSubject, SubjectResult


class Adapter(DatasetAdapter):
    def prepare_raw(self, raw: Path) -> None:
        raw.mkdir(parents=True, exist_ok=True)
        for index in range(int(self.options.get("subjects", 4))):
            (raw / f"sq{index:02d}.txt").write_text(f"{4 + index}\n")  # the square's side in pixels

    def discover(self, raw: Path) -> list[RawSubject]:
        return [RawSubject(path.stem, (path,), {}) for path in sorted(raw.glob("sq*.txt"))]

    def convert_subject(self, raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
        side = int(subject.files[0].read_text())
        labels = np.zeros((1, 32, 32), np.uint8)
        labels[0, 8:8 + side, 8:8 + side] = 1
        image = (labels * 200 + 20).astype(np.float32)
        geometry = Geometry.identity((1.0, 1.0, 1.0))
        record = CaseRecord(case=subject.subject, subject=subject.subject, has_label=True,
                            source_files=subject.files[0].name)
        write_case_files(out, record, [ScalarImage(image, geometry)], LabelMap(labels, geometry), max_label=1)
        return SubjectResult(records=[record])
