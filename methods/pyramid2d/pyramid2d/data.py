"""Common-format cases → [0, 1] slices resized to a square; dataset label values ↔ class indices.

As the seed's loader: each slice is shifted to a minimum of 0 and divided by its
maximum, then resized to ``image_size`` × ``image_size`` (bicubic, clamped to [0, 1]);
labels are resized by nearest neighbour (they stay integer). A case is
``<folder>/<case>_0000<ending>`` (one channel, else an error) and, for training,
``labelsTr/<case><ending>``; 3D cases are cut into their slices along z.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk
import torch
import torch.nn.functional as F

from pyramid2d.errors import MethodError


def read_dataset_json(folder: Path) -> dict[str, Any]:
    path = folder / "dataset.json"
    try:
        meta = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MethodError(f"{path}: cannot read the common format's dataset.json ({err})") from err
    for key in ("file_ending", "labels"):
        if key not in meta:
            raise MethodError(f"{path}: no {key!r} (a common-format dataset.json has file_ending and labels)")
    channels = meta.get("channel_names", {"0": "image"})
    if len(channels) != 1:
        raise MethodError(f"{path}: {len(channels)} channels {channels}; pyramid2d segments single-channel images "
                          "(one grey-level image per case)")
    return meta


def label_values(labels: dict[str, int]) -> tuple[list[str], list[int]]:
    ordered = sorted(labels.items(), key=lambda item: int(item[1]))
    return [n for n, _ in ordered], [int(v) for _, v in ordered]


def to_classes(label: np.ndarray, values: list[int], where: str) -> np.ndarray:
    unknown = sorted(set(np.unique(label).tolist()) - set(values))
    if unknown:
        raise MethodError(f"{where}: label values {unknown} are not in dataset.json's labels {values}")
    lut = np.zeros(max(values) + 1, dtype=np.int64)
    for index, value in enumerate(values):
        lut[value] = index
    return lut[label.astype(np.int64)]


def list_cases(folder: Path, ending: str) -> list[str]:
    return sorted({p.name[: -len(ending) - 5] for p in folder.glob(f"*_0000{ending}")})


def min_max(slices: np.ndarray) -> np.ndarray:
    """Per slice: minus its minimum, over its maximum (the seed's normalisation); a flat slice becomes 0."""
    shifted = slices - slices.min(axis=(-2, -1), keepdims=True)
    peak = shifted.max(axis=(-2, -1), keepdims=True)
    return np.where(peak > 0, shifted / np.where(peak > 0, peak, 1), 0).astype(np.float32)


def resize_images(slices: torch.Tensor, size: int) -> torch.Tensor:
    return F.interpolate(slices, size=(size, size), mode="bicubic", align_corners=False).clamp(0, 1)


def read_image(folder: Path, case: str, ending: str) -> tuple[np.ndarray, sitk.Image]:
    path = folder / f"{case}_0000{ending}"
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as err:
        raise MethodError(f"case {case}: cannot read {path} ({str(err).strip().splitlines()[-1]})") from err
    array = sitk.GetArrayFromImage(image).astype(np.float32)
    return min_max(array[None] if array.ndim == 2 else array), image


def read_label(folder: Path, case: str, ending: str) -> np.ndarray:
    path = folder / f"{case}{ending}"
    try:
        label = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    except RuntimeError as err:
        raise MethodError(f"case {case}: cannot read its label map {path}") from err
    return label[None] if label.ndim == 2 else label


def read_cases(folder: Path, values: list[int], where: str) -> list[tuple[np.ndarray, np.ndarray]]:
    meta = read_dataset_json(folder)
    ending = meta["file_ending"]
    cases = list_cases(folder / "imagesTr", ending)
    if not cases:
        raise MethodError(f"{where} {folder}: no cases (*_0000{ending}) in {folder / 'imagesTr'}")
    return [(read_image(folder / "imagesTr", case, ending)[0],
             to_classes(read_label(folder / "labelsTr", case, ending), values, f"{where} case {case}"))
            for case in cases]


def training_slices(cases: list[tuple[np.ndarray, np.ndarray]], size: int) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ys = [], []
    for image, label in cases:
        xs.append(resize_images(torch.from_numpy(image)[:, None], size))
        y = torch.from_numpy(label)[:, None].float()
        ys.append(F.interpolate(y, size=(size, size), mode="nearest")[:, 0].long())
    return torch.cat(xs), torch.cat(ys)
