"""What a method may see: a training view and a test-images view, built from hard links.

The predict view holds test images and a label-free ``dataset.json`` only;
hard links (not symlinks) leave no path that leads back to the labels. These views
are never handed to a method as they are: ``docker`` mounts them read-only, and
``local`` gives the method private read-only copies of them, hashed before and after
the job (``harness.executors.isolation``), so no method can write through a hard
link into the cache.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from harness.common.dataset import (
    CommonDataset,
    image_file_name,
    label_file_name,
    write_csv,
)
from harness.common.records import CaseRecord
from harness.contract.files import link_file


def _meta_for_view(dataset: CommonDataset, n_training: int, with_labels: bool) -> dict[str, object]:
    meta = dict(dataset.meta)
    meta["numTraining"] = n_training
    if not with_labels:
        meta = {k: meta[k] for k in ("name", "channel_names", "labels", "file_ending", "regions_class_order",
                                      "segarena_label_map") if k in meta}
        meta["numTraining"] = 0
    return meta


def make_training_view(dataset: CommonDataset, cases: list[CaseRecord], target: Path) -> Path:
    """A common-format folder with only ``cases`` (images and labels)."""
    shutil.rmtree(target, ignore_errors=True)
    for sub in ("imagesTr", "labelsTr"):
        (target / sub).mkdir(parents=True)
    for record in cases:
        for channel, path in enumerate(dataset.image_paths(record)):
            link_file(path, target / "imagesTr" / image_file_name(record.case, channel))
        label = dataset.label_path(record)
        assert label is not None
        link_file(label, target / "labelsTr" / label_file_name(record.case))
    (target / "dataset.json").write_text(json.dumps(_meta_for_view(dataset, len(cases), True), indent=2))
    write_csv(target / "cases.csv", CaseRecord.columns(), (r.to_row() for r in cases))
    subjects = {r.subject for r in cases}
    rows = [row for row in dataset.subjects if row.get("subject") in subjects]
    if rows:
        write_csv(target / "subjects.csv", list(rows[0]), rows)
    return target


def make_images_view(dataset: CommonDataset, cases: list[CaseRecord], target: Path) -> Path:
    """A flat folder of the test cases' images plus a label-free dataset.json: no labels, no truth."""
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    for record in cases:
        for channel, path in enumerate(dataset.image_paths(record)):
            link_file(path, target / image_file_name(record.case, channel))
    (target / "dataset.json").write_text(json.dumps(_meta_for_view(dataset, 0, False), indent=2))
    return target
