"""Common-format cases → the authors' inputs: per-volume percentile rescale, centre crop / pad, pad to 16.

A case is ``<folder>/<case>_0000<ending>`` (one channel, a 3D frame of a cine or a 2D slice) and, for
training, ``labelsTr/<case><ending>``. Arrays are (Z, Y, X) as SimpleITK reads them; the network sees each
z slice as one (Y, X) image.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk
from segarena_kit import MethodError, common_format
from segarena_kit.common_format import list_cases, read_label

from ukbb_fcn.labels import LabelMap


def read_dataset_json(folder: Path) -> dict[str, Any]:
    """The common format's dataset.json, of one channel."""
    return common_format.read_dataset_json(folder, method="the UK Biobank FCN", channels=1, why="short-axis cine")


def label_map_of(meta: dict[str, Any], where: str) -> LabelMap:
    labels = meta.get("segarena_label_map") or meta.get("labels") or {}
    return LabelMap.from_dataset_labels(labels, where)


def rescale_intensity(volume: np.ndarray, percentiles: tuple[float, float] = (1.0, 99.0)) -> np.ndarray:
    """The authors' ``rescale_intensity``: clip at the 1st / 99th percentile, map linearly onto [0, 1].

    A constant volume (no range) becomes all zeros. Returns a new float32 array (the authors' function
    changes its input in place; this one does not).
    """
    lo, hi = np.percentile(volume, percentiles)
    if hi <= lo:
        return np.zeros(volume.shape, np.float32)
    return ((np.clip(volume, lo, hi) - lo) / (hi - lo)).astype(np.float32)


def centre_crop_or_pad(array: np.ndarray, size: int) -> np.ndarray:
    """The last two axes cropped or zero-padded to ``size`` x ``size`` about their centre (``crop_image``)."""
    out = np.zeros((*array.shape[:-2], size, size), array.dtype)
    h, w = array.shape[-2:]
    src_y, dst_y = max((h - size) // 2, 0), max((size - h) // 2, 0)
    src_x, dst_x = max((w - size) // 2, 0), max((size - w) // 2, 0)
    ny, nx = min(h, size), min(w, size)
    out[..., dst_y : dst_y + ny, dst_x : dst_x + nx] = array[..., src_y : src_y + ny, src_x : src_x + nx]
    return out


def pad_to_multiple(array: np.ndarray, multiple: int = 16) -> tuple[np.ndarray, tuple[int, int, int, int]]:
    """Zero-pad the last two axes, centred, to the next multiple (the deploy script); returns (padded, box)."""
    h, w = array.shape[-2:]
    ph, pw = -h % multiple, -w % multiple
    top, left = ph // 2, pw // 2
    padded = np.pad(array, [(0, 0)] * (array.ndim - 2) + [(top, ph - top), (left, pw - left)])
    return padded, (top, left, h, w)


def read_image(folder: Path, case: str, ending: str) -> tuple[np.ndarray, sitk.Image]:
    """(Z, Y, X) float32 intensities (Z = 1 for a 2D case) and the image, for its geometry."""
    path = folder / f"{case}_0000{ending}"
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as err:
        raise MethodError(f"case {case}: cannot read {path} ({str(err).strip().splitlines()[-1]})") from err
    array = sitk.GetArrayFromImage(image).astype(np.float32)
    if not np.isfinite(array).all():
        raise MethodError(f"case {case}: {path} holds NaN or infinite intensities")
    return (array[None] if array.ndim == 2 else array), image


def load_training_volumes(data: Path, crop: int, label_map: LabelMap,
                          where: str = "--data") -> list[tuple[np.ndarray, np.ndarray]]:
    """Every case of ``data/imagesTr``: (rescaled image, authors' classes), both (Z, crop, crop)."""
    meta = read_dataset_json(data)
    ending = meta["file_ending"]
    cases = list_cases(data / "imagesTr", ending)
    if not cases:
        raise MethodError(f"{where} {data}: no training cases (*_0000{ending}) in {data / 'imagesTr'}")
    volumes = []
    for case in cases:
        image, _ = read_image(data / "imagesTr", case, ending)
        label = label_map.to_classes(read_label(data / "labelsTr", case, ending), f"{where} case {case}")
        if label.shape != image.shape:
            raise MethodError(f"{where} case {case}: label shape {label.shape} differs from the image's {image.shape}")
        volumes.append((centre_crop_or_pad(rescale_intensity(image), crop),
                        centre_crop_or_pad(label.astype(np.int64), crop)))
    return volumes
