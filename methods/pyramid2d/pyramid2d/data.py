"""Common-format cases → [0, 1] slices resized to a square; dataset label values ↔ class indices.

As the seed's loader: each slice is shifted to a minimum of 0 and divided by its
maximum, then resized to ``image_size`` × ``image_size`` (bicubic, clamped to [0, 1]);
labels are resized by nearest neighbour (they stay integer). A case is
``<folder>/<case>_0000<ending>`` (one channel, else an error) and, for training,
``labelsTr/<case><ending>``; 3D cases are cut into their slices along z.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk
import torch
import torch.nn.functional as F
from segarena_kit import MethodError, common_format
from segarena_kit.common_format import list_cases, read_label, to_classes


def read_dataset_json(folder: Path) -> dict[str, Any]:
    """The common format's dataset.json, of one channel."""
    return common_format.read_dataset_json(folder, method="pyramid2d", channels=1, why="one grey-level image per case")


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
