"""Checks run on a method's outputs after predict (see containers/CONTRACT.md)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.common.dataset import FILE_ENDING, CommonDataset, label_file_name
from harness.common.images import read_image, read_label
from harness.common.records import CaseRecord
from harness.errors import InputDataError


@dataclass(frozen=True)
class Violation:
    case: str
    problem: str

    def __str__(self) -> str:
        return f"{self.case}: {self.problem}"


def check_predictions(dataset: CommonDataset, cases: list[CaseRecord], folder: Path) -> list[Violation]:
    """One file per case, same geometry as its image, integer labels within the declared set, nothing else."""
    violations: list[Violation] = []
    allowed = set(dataset.label_map.values())
    expected = {label_file_name(r.case) for r in cases}
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        if path.name not in expected:
            violations.append(Violation(path.name, "unexpected file in the predictions folder"))
    for record in cases:
        path = folder / label_file_name(record.case)
        if not path.is_file():
            violations.append(Violation(record.case, f"no prediction file {path.name}"))
            continue
        try:
            prediction = read_label(path)
        except InputDataError as err:
            violations.append(Violation(record.case, f"unreadable or not an integer label map ({err})"))
            continue
        try:
            image = read_image(dataset.image_paths(record)[0])
        except InputDataError:
            continue  # a corrupt dataset image is no fault of the method's; evaluation checks geometry against the reference
        if prediction.array.shape != image.array.shape:
            violations.append(Violation(record.case, f"shape {prediction.array.shape} differs from the image's {image.array.shape}"))
        elif not prediction.geometry.matches(image.geometry):
            violations.append(Violation(record.case, "spacing, origin or direction differs from the image's"))
        values = set(np.unique(prediction.array).tolist())
        if not values <= allowed:
            violations.append(Violation(record.case, f"label values {sorted(values - allowed)} are not in the label map {sorted(allowed)}"))
    return violations


def valid_prediction_cases(violations: list[Violation]) -> set[str]:
    """Cases whose prediction must be scored as a failure."""
    return {v.case for v in violations if not v.problem.startswith("unexpected file")}


__all__ = ["FILE_ENDING", "Violation", "check_predictions", "valid_prediction_cases"]
