"""The subset factor: which labelled cases of a fold's training groups a training job gets."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from harness.common.dataset import CommonDataset
from harness.common.records import CaseRecord
from harness.config.models import Subset
from harness.errors import InputDataError


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
