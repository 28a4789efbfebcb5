from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.common import CaseRecord, CommonDataset, DatasetWriter, Geometry, LabelMap, ScalarImage
from harness.config.models import HoldoutSplit, KFoldSplit
from harness.factors.splits import Splits, make_splits


def _dataset(tmp_path: Path, n_subjects: int = 10) -> CommonDataset:
    writer = DatasetWriter(tmp_path / "ds", "toy", ["cine"], {"background": 0, "LV": 1})
    geometry = Geometry.identity((1.0, 1.0, 1.0))
    for s in range(n_subjects):
        for f in range(3):  # several frames per subject: they must never straddle folds
            writer.write_case(CaseRecord(case=f"p{s:02d}_f{f}", subject=f"p{s:02d}", frame=f, has_label=True),
                              [ScalarImage(np.zeros((1, 2, 2), np.float32), geometry)],
                              LabelMap(np.zeros((1, 2, 2), np.uint8), geometry))
    writer.finalize()
    return CommonDataset.open(tmp_path / "ds")


def test_kfold_is_patient_grouped_and_complete(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path)
    splits = make_splits(dataset, KFoldSplit(n_folds=3, val_fraction=0.2))
    tested = [g for fold in splits.folds for g in fold.test]
    assert sorted(tested) == sorted({r.subject for r in dataset.cases})  # every subject tested exactly once
    for fold in splits.folds:
        assert not set(fold.train) & set(fold.test)
        assert not set(fold.val) & (set(fold.test) | set(fold.train))
        case_folds = {r.case: ("test" if r.group in fold.test else "train") for r in dataset.cases}
        for subject in {r.subject for r in dataset.cases}:
            assert len({case_folds[r.case] for r in dataset.cases if r.subject == subject}) == 1


def test_splits_are_deterministic_and_hashed(tmp_path: Path) -> None:
    dataset = _dataset(tmp_path)
    a = make_splits(dataset, HoldoutSplit(test_fraction=0.3))
    b = make_splits(dataset, HoldoutSplit(test_fraction=0.3))
    assert a == b and a.sha256 == b.sha256 and len(a.folds[0].test) == 3
    a.write(tmp_path / "splits.json")
    assert Splits.read(tmp_path / "splits.json").sha256 == a.sha256
    assert make_splits(dataset, HoldoutSplit(test_fraction=0.3), seed=1).sha256 != a.sha256


def test_fixed_test_subjects(tmp_path: Path) -> None:
    splits = make_splits(_dataset(tmp_path), HoldoutSplit(test_subjects=["p03", "p07"]))
    assert splits.folds[0].test == ("p03", "p07")
