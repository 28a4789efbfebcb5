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
import os
import shutil
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from harness.common.dataset import (
    CommonDataset,
    image_file_name,
    label_file_name,
    write_csv,
)
from harness.common.records import CaseRecord
from harness.config.models import Subset
from harness.errors import InputDataError


def link_file(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def select_training_cases(
    dataset: CommonDataset, groups: Iterable[str], subset: Subset, seed: int
) -> list[CaseRecord]:
    """Labelled cases of ``groups``, restricted by the subset factor (n subjects, phases)."""
    group_set = set(groups)
    cases = [r for r in dataset.cases if r.has_label and (r.group or r.subject) in group_set]
    if subset.subjects:
        wanted_subjects = set(subset.subjects)
        cases = [r for r in cases if r.subject in wanted_subjects]
    if subset.confidence is not None:
        confident = confident_subjects(dataset, subset)
        cases = [r for r in cases if r.subject in confident]
    if subset.n_subjects is not None:
        # Subjects are counted by their primary cases: an augmentation copy (kaggle_dsb's `_rot90`,
        # primary false) is no subject of its own; it comes along with its original's group.
        subjects = sorted({r.subject for r in cases if r.primary})
        rng = np.random.default_rng(seed)
        chosen = set(rng.permutation(subjects)[: subset.n_subjects].tolist())
        groups = {r.group or r.subject for r in cases if r.subject in chosen}
        cases = [r for r in cases if r.subject in chosen or (not r.primary and (r.group or r.subject) in groups)]
    if subset.phases:
        wanted = {p.upper() for p in subset.phases}
        cases = [r for r in cases if r.phase.upper() in wanted]
    return cases


def confident_subjects(dataset: CommonDataset, subset: Subset) -> set[str]:
    """Subjects whose reference-method volumes agree with the truth within ``max_error_pct``.

    The confidence of a subject is max(|EDV_ref − EDV_true| / EDV_true, |ESV_ref − ESV_true| / ESV_true),
    as cmr-seg-tl selected Kaggle subjects from the UK Biobank network's volumes.
    """
    import pandas as pd

    assert subset.confidence is not None
    path = subset.confidence.reference_volumes
    try:
        reference = pd.read_csv(path, dtype={"subject": str}).set_index("subject")
    except (OSError, ValueError, KeyError) as err:
        raise InputDataError(f"{path}: cannot read reference volumes (need columns subject, edv_ml, esv_ml): {err}") from err
    missing = {"edv_ml", "esv_ml"} - set(reference.columns)
    if missing:
        raise InputDataError(f"{path}: missing columns {sorted(missing)} (need subject, edv_ml, esv_ml)")
    keep: set[str] = set()
    for row in dataset.subjects:
        subject = str(row.get("subject"))
        if subject not in reference.index or not row.get("edv_ml") or not row.get("esv_ml"):
            continue
        edv, esv = float(row["edv_ml"]), float(row["esv_ml"])
        if edv <= 0 or esv <= 0:
            continue
        ref = reference.loc[subject]
        error = max(abs(float(ref["edv_ml"]) - edv) / edv, abs(float(ref["esv_ml"]) - esv) / esv)
        if error * 100 <= subset.confidence.max_error_pct:
            keep.add(subject)
    return keep


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
