"""la2018_phantom and brats2018_phantom: generated raw folders in the real layouts, converted by the real format code.

The proof that the CPU twins and ``method verify`` meet what real data becomes: the challenges' own adapters
(la2018, brats2018) convert the generated raw folders to the same common-format cases.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from harness.datasets import DatasetRegistry, convert_dataset


def arrays(folder: Path) -> dict[str, np.ndarray]:
    return {p.name: sitk.GetArrayFromImage(sitk.ReadImage(str(p))) for p in sorted(folder.glob("*.nii.gz"))}


def test_la2018_phantom_is_lasc_layout_that_the_la2018_adapter_converts_the_same(tmp_path: Path) -> None:
    registry = DatasetRegistry()
    options = {"subjects": 3, "shape": [17, 33, 31]}
    phantom = convert_dataset(registry.adapter("la2018_phantom", options), tmp_path / "raw", tmp_path / "a").out
    assert sorted(p.name for p in (tmp_path / "raw" / "Training Set" / "PHANTOM0000").iterdir()) == \
        ["laendo.nrrd", "lgemri.nrrd"]
    real = convert_dataset(registry.adapter("la2018"), tmp_path / "raw", tmp_path / "b").out
    for sub in ("imagesTr", "labelsTr"):
        a, b = arrays(phantom / sub), arrays(real / sub)
        assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    labels = arrays(phantom / "labelsTr")
    assert all(set(np.unique(v).tolist()) == {0, 1} and v.shape == (17, 33, 31) for v in labels.values())
    assert 0.01 < np.mean([v.mean() for v in labels.values()]) < 0.3  # a small structure in a larger volume
    image = sitk.ReadImage(str(phantom / "imagesTr" / "PHANTOM0000_0000.nii.gz"))
    assert image.GetSpacing() == (0.625, 0.625, 0.625)


def test_brats2018_phantom_has_the_four_channels_and_nested_regions(tmp_path: Path) -> None:
    registry = DatasetRegistry()
    phantom = convert_dataset(registry.adapter("brats2018_phantom", {"subjects": 2, "shape": [20, 24, 22]}),
                              tmp_path / "raw", tmp_path / "a").out
    meta = json.loads((phantom / "dataset.json").read_text())
    assert meta["labels"] == {"background": 0, "WT": [1, 2, 3], "TC": [2, 3], "ET": [3]}
    assert meta["regions_class_order"] == [1, 2, 3] and len(meta["channel_names"]) == 4
    real = convert_dataset(registry.adapter("brats2018"), tmp_path / "raw", tmp_path / "b").out
    a, b = arrays(phantom / "labelsTr"), arrays(real / "labelsTr")
    assert a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)
    for label in a.values():
        assert set(np.unique(label).tolist()) == {0, 1, 2, 3}  # ED, NCR/NET and ET all present
    assert len(list((phantom / "imagesTr").glob("*_0003.nii.gz"))) == 2
