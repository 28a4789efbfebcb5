"""Outside dataset plugins (``plugins.datasets`` folders): their adapters import their own helpers and the shared
ones as ordinary Python, under the same ``segarena_datasets`` package as the checkout's datasets/."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from harness.common import read_label
from harness.datasets import DatasetRegistry, convert_dataset
from harness.datasets.package import PACKAGE, dataset_package
from harness.errors import ConfigError
from harness.settings import repo_root

CARD = """\
name: {name}
title: a dataset from outside the checkout
channels: [MR]
labels: {{background: 0, blob: 1}}
"""

ADAPTER = '''\
"""A plugin adapter: its own helper beside it, the checkout's shared volume reader."""

from __future__ import annotations

from pathlib import Path

from harness.common.dataset import write_case_files
from harness.common.images import LabelMap, ScalarImage
from harness.common.records import CaseRecord
from harness.datasets.adapter import DatasetAdapter, RawSubject, SubjectResult
from segarena_datasets.shared import volumes
{helper_import}


class Adapter(DatasetAdapter):
    def discover(self, raw: Path) -> list[RawSubject]:
        return [RawSubject(naming.case_of(p), (p,)) for p in sorted(raw.glob("*_mask.nii.gz"))]

    def convert_subject(self, raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
        path = subject.files[0]
        image = volumes.read_volume(path)
        array = volumes.volume_array(image, path)
        geometry = volumes.spatial_geometry(image)
        label = LabelMap(volumes.map_labels(array, {{0: 0, 7: 1}}, path, "0 background, 7 blob"), geometry)
        spacing = geometry.spacing_mm
        record = CaseRecord(case=subject.subject, subject=subject.subject, n_slices=int(array.shape[0]),
                            spacing_x_mm=spacing[0], spacing_y_mm=spacing[1], spacing_z_mm=spacing[2], has_label=True,
                            source_files=path.relative_to(raw).as_posix())
        write_case_files(out, record, [ScalarImage(array.astype("float32"), geometry)], label, max_label=1)
        return SubjectResult(records=[record])
'''

NAMING = '''\
from __future__ import annotations

from pathlib import Path


def case_of(path: Path) -> str:
    return path.name.removesuffix("_mask.nii.gz")
'''


def write_plugin(plugins: Path, folder: str, name: str | None = None) -> Path:
    dataset = plugins / folder
    dataset.mkdir(parents=True)
    (dataset / "dataset.yaml").write_text(CARD.format(name=name or folder))
    helper_import = f"from segarena_datasets.{folder} import naming" if folder.isidentifier() else "from . import naming"
    (dataset / "adapter.py").write_text(ADAPTER.format(helper_import=helper_import))
    (dataset / "naming.py").write_text(NAMING)
    return plugins


@pytest.mark.parametrize("folder", ["blobs_outside", "blobs-outside"])
def test_a_plugin_adapter_imports_its_helper_and_the_shared_module(tmp_path: Path, folder: str) -> None:
    plugins = write_plugin(tmp_path / "plugins", folder)
    raw = tmp_path / "raw"
    raw.mkdir()
    mask = np.zeros((3, 5, 6), dtype=np.uint8)
    mask[1, 2:4, 1:5] = 7
    sitk.WriteImage(sitk.GetImageFromArray(mask), str(raw / "b01_mask.nii.gz"))

    adapter = DatasetRegistry([plugins]).adapter(folder)
    assert type(adapter).__module__ == f"{PACKAGE}.{folder}.adapter"
    assert [s.subject for s in adapter.discover(raw)] == ["b01"]
    convert_dataset(adapter, raw, tmp_path / "out")
    label = read_label(tmp_path / "out" / "labelsTr" / "b01.nii.gz")
    np.testing.assert_array_equal(label.array, (mask == 7).astype(np.uint8))


def test_two_dataset_folders_of_one_name_are_refused_naming_both(tmp_path: Path) -> None:
    first = write_plugin(tmp_path / "one", "twin_folder", name="twin_a")
    second = write_plugin(tmp_path / "two", "twin_folder", name="twin_b")
    registry = DatasetRegistry([first, second])
    registry.adapter("twin_a")
    with pytest.raises(ConfigError, match="(?s)twin_folder.*already taken by .*one/twin_folder/adapter.py.*rename"):
        registry.adapter("twin_b")


def test_a_dataset_folder_with_a_dot_is_refused(tmp_path: Path) -> None:
    plugins = write_plugin(tmp_path / "plugins", "blobs.v2", name="blobs_v2")
    with pytest.raises(ConfigError, match=r"blobs\.v2/adapter.py: not an importable Python file.*'\.'"):
        DatasetRegistry([plugins]).adapter("blobs_v2")


def test_the_package_is_not_named_datasets_and_spans_the_checkout() -> None:
    """``datasets`` is HuggingFace's package: the folder must not become a regular package of that name."""
    assert not (repo_root() / "datasets" / "__init__.py").exists()
    assert str((repo_root() / "datasets").resolve()) in dataset_package().__path__
    DatasetRegistry().adapter("acdc")
    from segarena_datasets.acdc import adapter
    from segarena_datasets.shared import volumes

    assert adapter.volumes is volumes
