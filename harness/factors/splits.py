"""Patient-grouped splits: every case of one group (subject) lands in one fold.

Written as ``splits.json`` with its content hash, the same for every method.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from harness.common.dataset import CommonDataset
from harness.config.models import HoldoutSplit, KFoldSplit
from harness.errors import ConfigError


@dataclass(frozen=True)
class Fold:
    index: int
    train: tuple[str, ...]  # groups
    val: tuple[str, ...]
    test: tuple[str, ...]


@dataclass(frozen=True)
class Splits:
    dataset: str
    folds: tuple[Fold, ...]

    def to_json(self) -> str:
        return json.dumps({"dataset": self.dataset, "folds": [asdict(f) for f in self.folds]}, indent=2)

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()

    def write(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.to_json())

    @classmethod
    def read(cls, path: Path) -> Splits:
        data = json.loads(path.read_text())
        folds = tuple(
            Fold(f["index"], tuple(f["train"]), tuple(f["val"]), tuple(f["test"])) for f in data["folds"]
        )
        return cls(data["dataset"], folds)


def _carve_val(train: list[str], fraction: float, rng: np.random.Generator) -> tuple[list[str], list[str]]:
    if fraction <= 0:
        return train, []
    n_val = max(1, round(len(train) * fraction))
    shuffled = list(rng.permutation(train))
    return sorted(shuffled[n_val:]), sorted(shuffled[:n_val])


def make_splits(dataset: CommonDataset, spec: HoldoutSplit | KFoldSplit, seed: int = 0) -> Splits:
    """Deterministic patient-grouped folds for ``dataset`` (groups sorted, then shuffled by ``seed``)."""
    groups = sorted({record.group or record.subject for record in dataset.cases})
    rng = np.random.default_rng(seed)
    order = [str(g) for g in rng.permutation(groups)]
    folds: list[Fold] = []
    if isinstance(spec, HoldoutSplit):
        if spec.test_subjects:
            subject_group = {r.subject: r.group or r.subject for r in dataset.cases}
            unknown = sorted(set(spec.test_subjects) - set(subject_group))
            if unknown:
                raise ConfigError(f"factors.split.test_subjects: not in dataset '{dataset.name}': {', '.join(unknown)}")
            test = sorted({subject_group[s] for s in spec.test_subjects})
        else:
            n_test = max(1, round(len(order) * spec.test_fraction))
            test = sorted(order[:n_test])
        train = sorted(set(order) - set(test))
        if not train:
            raise ConfigError(f"dataset '{dataset.name}': the split leaves no training subjects")
        train, val = _carve_val(train, spec.val_fraction, rng)
        folds.append(Fold(0, tuple(train), tuple(val), tuple(test)))
    else:
        if spec.n_folds > len(order):
            raise ConfigError(
                f"factors.split.n_folds: {spec.n_folds} folds but dataset '{dataset.name}' has {len(order)} subjects"
            )
        chunks = np.array_split(np.array(order, dtype=object), spec.n_folds)
        for index, chunk in enumerate(chunks):
            test = sorted(str(g) for g in chunk)
            train = sorted(set(order) - set(test))
            train, val = _carve_val(train, spec.val_fraction, rng)
            folds.append(Fold(index, tuple(train), tuple(val), tuple(test)))
    return Splits(dataset.name, tuple(folds))
