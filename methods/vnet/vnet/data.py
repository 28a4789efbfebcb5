"""Common-format cases → normalised (C, D, H, W) volumes, class maps and spacings.

A case is ``<folder>/<case>_<chan:04d><ending>`` per channel and, for training,
``labelsTr/<case><ending>``. Arrays are SimpleITK's (z, y, x) = (D, H, W) order.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk
from segarena_kit import MethodError
from segarena_kit.common_format import list_cases, read_dataset_json


@dataclass(frozen=True)
class Case:
    name: str
    image: np.ndarray  # (C, D, H, W) float32, normalised per channel
    label: np.ndarray | None  # (D, H, W) class indices
    spacing_mm: tuple[float, float, float]  # (D, H, W) order, for the distance maps


def label_values(meta: dict[str, Any], where: Path) -> list[int]:
    """The dataset's label values by value (class k = the k-th); regions are refused with a clear message."""
    labels = meta.get("labels", {})
    regions = [name for name, value in labels.items() if isinstance(value, list)]
    if regions or "regions_class_order" in meta:
        raise MethodError(f"{where}/dataset.json declares regions ({', '.join(regions) or 'regions_class_order'}: "
                          "lists of label values) and vnet predicts one class per voxel; use a region-aware "
                          "method (segresnet or nnunet) for this dataset")
    values = sorted(int(v) for v in labels.values())
    if not values or values[0] != 0:
        raise MethodError(f"{where}/dataset.json: labels {labels} need a background with value 0")
    return values


def normalise(volume: np.ndarray) -> np.ndarray:
    """Per-volume z-score (the seed normalises each image)."""
    volume = volume.astype(np.float32)
    return (volume - volume.mean()) / (volume.std() + 1e-6)


def read_image(folder: Path, case: str, n_channels: int, ending: str) -> tuple[np.ndarray, sitk.Image]:
    """(C, D, H, W) normalised channels and the first channel's image (its geometry)."""
    images = []
    for c in range(n_channels):
        path = folder / f"{case}_{c:04d}{ending}"
        try:
            images.append(sitk.ReadImage(str(path)))
        except RuntimeError as err:
            raise MethodError(f"case {case}: cannot read {path} ({str(err).strip().splitlines()[-1]})") from err
        if images[-1].GetDimension() != 3:
            raise MethodError(f"case {case}: {path} is {images[-1].GetDimension()}D; vnet needs 3D volumes")
    arrays = [normalise(sitk.GetArrayFromImage(im)) for im in images]
    if any(a.shape != arrays[0].shape for a in arrays):
        raise MethodError(f"case {case}: its channels differ in shape ({[a.shape for a in arrays]})")
    return np.stack(arrays), images[0]


def read_case(folder: Path, case: str, n_channels: int, ending: str, values: list[int] | None) -> Case:
    """A training case (``folder`` holds imagesTr/labelsTr) when ``values`` is given, else an image-only case."""
    images = folder / "imagesTr" if values is not None else folder
    image, reference = read_image(images, case, n_channels, ending)
    spacing = tuple(float(s) for s in reversed(reference.GetSpacing()))
    label = None
    if values is not None:
        path = folder / "labelsTr" / f"{case}{ending}"
        try:
            raw = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
        except RuntimeError as err:
            raise MethodError(f"case {case}: cannot read its label map {path}") from err
        if raw.shape != image.shape[1:]:
            raise MethodError(f"case {case}: label map {path} has shape {raw.shape}, the image {image.shape[1:]}")
        unknown = sorted(set(np.unique(raw).tolist()) - set(values))
        if unknown:
            raise MethodError(f"case {case}: {path} holds label values {unknown} not in dataset.json's labels {values}")
        lut = np.zeros(max(values) + 1, np.int64)
        lut[values] = np.arange(len(values))
        label = lut[raw.astype(np.int64)]
    return Case(case, image, label, spacing)  # type: ignore[arg-type]


def read_training_cases(folder: Path, role: str) -> tuple[list[Case], dict[str, Any], list[int]]:
    meta = read_dataset_json(folder)
    values = label_values(meta, folder)
    ending, n_channels = meta["file_ending"], len(meta["channel_names"])
    names = list_cases(folder / "imagesTr", ending)
    if not names:
        raise MethodError(f"{role} {folder}: no cases (*_0000{ending}) in {folder / 'imagesTr'}")
    return [read_case(folder, name, n_channels, ending, values) for name in names], meta, values
