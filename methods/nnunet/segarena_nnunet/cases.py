"""The cases of a common-format folder, their patient groups, and the split handed to nnU-Net.

SegArena's splits are the harness's, never nnU-Net's: fold 0 of the
``splits_final.json`` this module writes trains on exactly the ``--data``
cases and validates on exactly the ``--val`` cases. Without ``--val`` a
validation set is carved from ``--data`` by patient group (``cases.csv``'s
``group`` column, else ``subject``), deterministically from the seed, so no
subject has cases on both sides.
"""

from __future__ import annotations

import csv
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from segarena_kit import MethodError

log = logging.getLogger("nnunet")


@dataclass(frozen=True)
class CaseSet:
    """The labelled cases of one common-format folder (``imagesTr/`` + ``labelsTr/``) and their groups."""

    folder: Path
    meta: dict[str, Any]
    groups: dict[str, str]  # case id -> patient group

    @property
    def cases(self) -> list[str]:
        return sorted(self.groups)

    @property
    def ending(self) -> str:
        return str(self.meta["file_ending"])

    @property
    def n_channels(self) -> int:
        return len(self.meta["channel_names"])

    def image_paths(self, case: str) -> list[Path]:
        return [self.folder / "imagesTr" / f"{case}_{c:04d}{self.ending}" for c in range(self.n_channels)]

    def label_path(self, case: str) -> Path:
        return self.folder / "labelsTr" / f"{case}{self.ending}"


@dataclass(frozen=True)
class Split:
    train: list[str]
    val: list[str]
    source: str  # how the validation cases were chosen, for config.json and the log

    def to_splits_final(self) -> list[dict[str, list[str]]]:
        """nnU-Net's splits_final.json: a list of folds, each ``{"train": [...], "val": [...]}``; we use fold 0."""
        return [{"train": sorted(self.train), "val": sorted(self.val)}]


def read_dataset_json(folder: Path, role: str) -> dict[str, Any]:
    path = folder / "dataset.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MethodError(f"{role} {folder}: cannot read the common format's dataset.json ({err})") from err
    missing = [key for key in ("channel_names", "labels", "file_ending") if key not in meta]
    if missing:
        raise MethodError(f"{role} {path}: missing {', '.join(missing)}; is it a common-format (nnU-Net raw) folder?")
    return meta


def read_case_set(folder: Path, role: str) -> CaseSet:
    """Cases = the ``imagesTr/<case>_0000`` files; each must have all channels and a label map."""
    meta = read_dataset_json(folder, role)
    ending = str(meta["file_ending"])
    cases = sorted(p.name[: -len(ending) - 5] for p in (folder / "imagesTr").glob(f"*_0000{ending}"))
    if not cases:
        raise MethodError(f"{role} {folder}: no training cases (imagesTr/*_0000{ending})")
    groups = _read_groups(folder, cases, role)
    case_set = CaseSet(folder, meta, groups)
    for case in cases:
        missing = [p.name for p in [*case_set.image_paths(case), case_set.label_path(case)] if not p.is_file()]
        if missing:
            raise MethodError(f"{role} {folder}: case {case} lacks {', '.join(missing)} "
                              f"(expected imagesTr/<case>_<chan:04d>{ending} for {case_set.n_channels} channel(s) "
                              f"and labelsTr/<case>{ending})")
    return case_set


def _read_groups(folder: Path, cases: list[str], role: str) -> dict[str, str]:
    """case -> group from cases.csv (``group``, else ``subject``); a case it does not list is its own group."""
    path = folder / "cases.csv"
    rows: dict[str, dict[str, str]] = {}
    if path.is_file():
        with path.open(newline="") as handle:
            rows = {row["case"]: row for row in csv.DictReader(handle) if row.get("case")}
    else:
        log.warning("%s %s has no cases.csv: every case is its own patient group", role, folder)
    groups = {}
    for case in cases:
        row = rows.get(case, {})
        groups[case] = row.get("group") or row.get("subject") or case
    return groups


def make_split(train: CaseSet, val: CaseSet | None, val_fraction: float, seed: int) -> Split:
    """fold 0 for nnU-Net: --data / --val as given, or --data with a patient-grouped val set carved out by seed."""
    if val is not None:
        overlap = sorted(set(train.cases) & set(val.cases))
        if overlap:
            raise MethodError(f"--data and --val share case ids {', '.join(overlap[:5])}: the validation cases "
                              "must be other cases than the training cases")
        shared = sorted(set(train.groups.values()) & set(val.groups.values()))
        if shared:
            log.warning("--data and --val share patient group(s) %s", ", ".join(shared[:5]))
        return Split(train.cases, val.cases, "--val")
    groups = sorted(set(train.groups.values()))
    if len(groups) < 2:
        log.warning("only one patient group (%s) and no --val: nnU-Net validates on its training cases", groups[0])
        return Split(train.cases, train.cases, "no --val and one group: the training cases")
    n_val = min(len(groups) - 1, max(1, round(len(groups) * val_fraction)))
    chosen = set(np.random.default_rng(seed).permutation(groups)[:n_val].tolist())
    val_cases = [c for c in train.cases if train.groups[c] in chosen]
    train_cases = [c for c in train.cases if train.groups[c] not in chosen]
    return Split(train_cases, val_cases,
                 f"carved from --data: groups {', '.join(sorted(chosen))} (val_fraction {val_fraction}, seed {seed})")
