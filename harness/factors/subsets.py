"""The subset factor: which labelled cases of a fold's training groups a training job gets."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

from harness.common.dataset import CommonDataset
from harness.common.records import CaseRecord
from harness.config.models import Subset
from harness.errors import InputDataError


def select_training_cases(
    dataset: CommonDataset, groups: Iterable[str], subset: Subset, seed: int,
    label_errors_pct: Mapping[str, float | None] | None = None,
) -> list[CaseRecord]:
    """Labelled cases of ``groups``, restricted by the subset factor (n subjects, phases).

    ``label_errors_pct``: when the labels were made by a method (``datasets[].labels_from``), each labelled
    subject's volume error (:func:`volume_error_pct`); a confidence rule without ``reference_volumes`` uses it.
    """
    group_set = set(groups)
    cases = [r for r in dataset.cases if r.has_label and (r.group or r.subject) in group_set]
    if subset.subjects:
        wanted_subjects = set(subset.subjects)
        cases = [r for r in cases if r.subject in wanted_subjects]
    if subset.confidence is not None:
        confident = confident_subjects(dataset, subset, label_errors_pct)
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


def volume_error_pct(edv_ml: float, esv_ml: float, edv_true_ml: float, esv_true_ml: float) -> float:
    """cmr-seg-tl's confidence value: the larger of |ΔEDV| / EDV_true and |ΔESV| / ESV_true, in percent."""
    return 100.0 * max(abs(edv_ml - edv_true_ml) / edv_true_ml, abs(esv_ml - esv_true_ml) / esv_true_ml)


def confident_subjects(dataset: CommonDataset, subset: Subset,
                       label_errors_pct: Mapping[str, float | None] | None = None) -> set[str]:
    """Subjects whose reference-method volumes agree with the truth within ``max_error_pct``.

    The confidence of a subject is max(|EDV_ref − EDV_true| / EDV_true, |ESV_ref − ESV_true| / ESV_true),
    as cmr-seg-tl selected Kaggle subjects from the UK Biobank network's volumes. The reference volumes are
    the ``reference_volumes`` table or, without one, the errors of the method that labelled the dataset.
    """
    import pandas as pd

    assert subset.confidence is not None
    limit = subset.confidence.max_error_pct
    path = subset.confidence.reference_volumes
    if path is None:
        if label_errors_pct is None:
            raise InputDataError(f"subset '{subset.name}': a confidence rule without reference_volumes needs labels "
                                 "made by a method (datasets[].labels_from) on this dataset")
        return {s for s, error in label_errors_pct.items() if error is not None and error <= limit}
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
        if volume_error_pct(float(ref["edv_ml"]), float(ref["esv_ml"]), edv, esv) <= limit:
            keep.add(subject)
    return keep
