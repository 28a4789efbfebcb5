"""nnU-Net's three folders in a private temp dir, its environment variables, and the staged raw dataset.

nnU-Net finds its data through ``nnUNet_raw`` / ``nnUNet_preprocessed`` /
``nnUNet_results`` and sizes its worker pools from ``nnUNet_def_n_proc`` (read
once, when ``nnunetv2`` is first imported) and ``nnUNet_n_proc_DA`` (read when
the data loaders are made). :func:`configure_processes` must therefore run
before anything imports ``nnunetv2``.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from segarena_kit import MethodError

from segarena_nnunet.cases import CaseSet

DATASET_ID = 999
DATASET_NAME = f"Dataset{DATASET_ID:03d}_SegArena"


def thread_count() -> int:
    """CPU threads this job may use: ``SEGARENA_THREADS`` (set by the executors), else every core."""
    value = os.environ.get("SEGARENA_THREADS", "")
    return max(1, int(value)) if value.isdigit() else os.cpu_count() or 1


def configure_processes(processes: int) -> None:
    """Worker processes of nnU-Net's pools (fingerprint, preprocessing, export); call before importing nnunetv2."""
    if "nnunetv2" in sys.modules:
        raise RuntimeError("configure_processes() must run before nnunetv2 is imported")
    os.environ["nnUNet_def_n_proc"] = str(max(1, processes))


@contextlib.contextmanager
def environment(**variables: str | None) -> Iterator[None]:
    """Set (or, with None, unset) environment variables for the duration of the block."""
    saved = {name: os.environ.get(name) for name in variables}
    try:
        for name, value in variables.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@dataclass(frozen=True)
class Workspace:
    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "nnUNet_raw" / DATASET_NAME

    @property
    def preprocessed(self) -> Path:
        return self.root / "nnUNet_preprocessed" / DATASET_NAME

    @property
    def results(self) -> Path:
        return self.root / "nnUNet_results" / DATASET_NAME


@contextlib.contextmanager
def workspace(parent: Path) -> Iterator[Workspace]:
    """A temp dir in ``parent`` holding nnU-Net's folders, the ``nnUNet_*`` variables pointing there; removed after.

    ``parent`` is the job's output folder, not ``/tmp``: preprocessed data can be many GB, and in a
    container ``/tmp`` is a tmpfs that counts against the memory limit.
    """
    root = Path(tempfile.mkdtemp(prefix=".nnunet-work-", dir=parent))
    folders = {name: root / name for name in ("nnUNet_raw", "nnUNet_preprocessed", "nnUNet_results")}
    for folder in folders.values():
        folder.mkdir()
    try:
        with environment(**{name: str(path) for name, path in folders.items()}):
            yield Workspace(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def stage_raw_dataset(space: Workspace, sets: list[CaseSet]) -> dict[str, Any]:
    """nnU-Net's raw dataset = the cases of ``sets`` (symlinked) and the first set's dataset.json.

    Labels pass through unchanged, regions included (lists of label values plus
    ``regions_class_order``), so nnU-Net trains on regions when the dataset declares them.
    """
    meta = dict(sets[0].meta)
    for other in sets[1:]:
        for key in ("channel_names", "labels", "file_ending", "regions_class_order"):
            if other.meta.get(key) != meta.get(key):
                raise MethodError(f"{other.folder}/dataset.json: {key} {other.meta.get(key)!r} differs from "
                                  f"{sets[0].folder}/dataset.json's {meta.get(key)!r}")
    if any(isinstance(v, list) for v in meta["labels"].values()) and "regions_class_order" not in meta:
        raise MethodError(f"{sets[0].folder}/dataset.json: labels declare regions (lists of label values) but "
                          "regions_class_order is missing; nnU-Net needs it to turn regions back into a label map")
    for sub in ("imagesTr", "labelsTr"):
        (space.raw / sub).mkdir(parents=True)
    n_cases = 0
    for case_set in sets:
        for case in case_set.cases:
            for source in case_set.image_paths(case):
                (space.raw / "imagesTr" / source.name).symlink_to(source.resolve())
            label = case_set.label_path(case)
            (space.raw / "labelsTr" / label.name).symlink_to(label.resolve())
            n_cases += 1
    meta["numTraining"] = n_cases
    (space.raw / "dataset.json").write_text(json.dumps(meta, indent=2))
    return meta
