"""The authors' label map (0 background, 1 LV cavity, 2 LV myocardium, 3 RV cavity) and the dataset's.

The network's class k is always the authors' label k, so that their published weights mean what they
meant. The dataset's ``dataset.json`` names its labels; class k reads and writes the dataset value whose
name is the authors' name k (SegArena's canonical cardiac map, ``background 0, LV 1, MYO 2, RV 3``, is
the identity; ACDC's numbering, 1 RV / 2 MYO / 3 LV, is re-ordered). A dataset label the authors' map
does not have is an error; an authors' class the dataset lacks (e.g. no RV) is written as background.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from segarena_kit import MethodError

#: The authors' classes in their order (``common/train_network.py``: background, LV cavity, LV myocardium,
#: RV cavity) under SegArena's label names.
UKBB_CLASSES: tuple[str, ...] = ("background", "LV", "MYO", "RV")


@dataclass(frozen=True)
class LabelMap:
    """Authors' class index ↔ dataset label value (``None``: the dataset has no such label)."""

    dataset_values: tuple[int | None, ...]  # index = authors' class

    @classmethod
    def from_dataset_labels(cls, labels: Mapping[str, object], where: str) -> LabelMap:
        plain = {str(k): v for k, v in labels.items()}
        if any(not isinstance(v, int) or isinstance(v, bool) for v in plain.values()):
            raise MethodError(f"{where}: ukbb_fcn needs integer labels in dataset.json, got {dict(plain)} "
                              "(regions are not short-axis cardiac labels)")
        unknown = sorted(set(plain) - set(UKBB_CLASSES))
        if unknown:
            raise MethodError(f"{where}: label(s) {', '.join(unknown)} are not in the UK Biobank FCN's map "
                              f"{', '.join(UKBB_CLASSES)} (1 LV cavity, 2 myocardium, 3 RV cavity)")
        if plain.get("background", 0) != 0:
            raise MethodError(f"{where}: background must be label 0, got {plain['background']}")
        values = tuple(0 if name == "background" else plain.get(name) for name in UKBB_CLASSES)
        return cls(values)  # type: ignore[arg-type]

    def to_classes(self, label: np.ndarray, where: str) -> np.ndarray:
        """Dataset label values → authors' classes; a value outside the dataset's map is an error."""
        lut = np.full(max(int(label.max(initial=0)), max(v or 0 for v in self.dataset_values)) + 1, -1, np.int64)
        for index, value in enumerate(self.dataset_values):
            if value is not None:
                lut[value] = index
        classes = lut[label.astype(np.int64)]
        if (classes < 0).any():
            bad = sorted(set(np.unique(label[classes < 0]).tolist()))
            raise MethodError(f"{where}: label values {bad} are not in dataset.json's labels")
        return classes

    def to_values(self, classes: np.ndarray) -> np.ndarray:
        """Authors' classes → dataset label values; a class the dataset lacks becomes background (0)."""
        lut = np.array([v if v is not None else 0 for v in self.dataset_values], dtype=np.uint8)
        return lut[classes]
