"""List every problem of a common-format dataset (``segarena validate-dataset``)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.common.dataset import FILE_ENDING, CommonDataset, image_file_name, label_file_name
from harness.common.images import read_image, read_label
from harness.common.manifest import has_manifest, verify_manifest
from harness.common.records import CaseRecord
from harness.errors import InputDataError

REQUIRED_META = ("channel_names", "labels", "numTraining", "file_ending")
_IMAGE_RE = re.compile(r"^(?P<case>.+)_(?P<chan>\d{4})" + re.escape(FILE_ENDING) + "$")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a dataset, with the file it is about."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def validate_dataset(root: Path, check_pixels: bool = True) -> list[Problem]:
    """Return all problems found (an empty list means the dataset is valid).

    Checks dataset.json's required keys, that cases.csv and the folders agree,
    that every case has all its channels, that labels match their images'
    geometry exactly and hold only declared label values, that there is at least one case,
    and, where ``segarena convert`` left a manifest, that every file is as it wrote it.
    """
    problems: list[Problem] = []
    if not root.is_dir():
        return [Problem(str(root), "no such folder")]
    meta_path = root / "dataset.json"
    if not meta_path.is_file():
        return [Problem(str(meta_path), "missing: not a common-format dataset")]
    try:
        meta = json.loads(meta_path.read_text())
    except json.JSONDecodeError as err:
        return [Problem(str(meta_path), f"invalid JSON ({err})")]
    for key in REQUIRED_META:
        if key not in meta:
            problems.append(Problem(str(meta_path), f"required key '{key}' is missing"))
    if problems:
        return problems
    try:
        dataset = CommonDataset.open(root)
    except InputDataError as err:
        return [*problems, Problem(str(root), str(err))]

    if not dataset.cases:
        log = root / "conversion_log.csv"
        problems.append(Problem(str(root / "cases.csv"), "lists no cases: the dataset is empty"
                                + (f"; {log} says why the conversion produced none" if log.is_file() else "")))
    if has_manifest(root):
        problems += [Problem(text.split(": ", 1)[0], text.split(": ", 1)[1]) for text in verify_manifest(root, check_pixels)]
    label_values = set(dataset.label_map.values())
    if sorted(label_values) != list(range(len(label_values))):
        problems.append(Problem(str(meta_path), f"label values are not consecutive from 0: {sorted(label_values)}"))
    n_labelled = sum(r.has_label for r in dataset.cases)
    if meta["numTraining"] != n_labelled:
        problems.append(
            Problem(str(meta_path), f"numTraining is {meta['numTraining']} but cases.csv has {n_labelled} labelled cases")
        )

    seen: set[str] = set()
    for record in dataset.cases:
        if record.case in seen:
            problems.append(Problem(str(root / "cases.csv"), f"case '{record.case}' is listed twice"))
        seen.add(record.case)
        problems += _validate_case(dataset, record, label_values, check_pixels)

    n_channels = len(dataset.channel_names)
    for folder in ("imagesTr", "imagesTs"):
        for path in sorted((root / folder).glob("*")):
            match = _IMAGE_RE.match(path.name)
            if not match:
                problems.append(Problem(str(path), f"file name does not follow <case>_<channel:04d>{FILE_ENDING}"))
            elif match["case"] not in seen:
                problems.append(Problem(str(path), "image of a case that cases.csv does not list"))
            elif int(match["chan"]) >= n_channels:
                problems.append(Problem(str(path), f"channel {int(match['chan'])} but dataset.json declares {n_channels}"))
    for path in sorted((root / "labelsTr").glob("*")):
        case = path.name.removesuffix(FILE_ENDING)
        if case not in seen:
            problems.append(Problem(str(path), "label of a case that cases.csv does not list"))
    return problems


def _validate_case(
    dataset: CommonDataset, record: CaseRecord, label_values: set[int], check_pixels: bool
) -> list[Problem]:
    problems: list[Problem] = []
    folder = "imagesTr" if record.has_label else "imagesTs"
    geometries = []
    shapes = []
    for channel in range(len(dataset.channel_names)):
        path = dataset.root / folder / image_file_name(record.case, channel)
        if not path.is_file():
            problems.append(Problem(str(path), f"missing channel {channel} of case '{record.case}'"))
            continue
        if not check_pixels:
            continue
        try:
            image = read_image(path)
        except InputDataError as err:
            problems.append(Problem(str(path), str(err)))
            continue
        if not np.all(np.isfinite(image.array)):
            problems.append(Problem(str(path), "image holds NaN or infinite values"))
        geometries.append(image.geometry)
        shapes.append(image.array.shape)
    if len(set(shapes)) > 1 or any(not g.matches(geometries[0]) for g in geometries[1:]):
        problems.append(Problem(record.case, "channels differ in shape or geometry"))
    if record.has_label:
        path = dataset.root / "labelsTr" / label_file_name(record.case)
        if not path.is_file():
            problems.append(Problem(str(path), f"case '{record.case}' is marked has_label but its label is missing"))
        elif check_pixels:
            try:
                label = read_label(path)
            except InputDataError as err:
                return [*problems, Problem(str(path), str(err))]
            extra = set(np.unique(label.array).tolist()) - label_values
            if extra:
                problems.append(Problem(str(path), f"label values {sorted(extra)} are not in the label map"))
            if shapes and (label.array.shape != shapes[0] or not label.geometry.matches(geometries[0])):
                problems.append(Problem(str(path), "label shape or geometry differs from its image's"))
    return problems
