"""Common-format cases → rescaled, letterboxed 2D slices; dataset label values ↔ class indices.

A case is ``<folder>/<case>_0000<ending>`` (one channel, else an error: the
tutorial's images are single-channel cine MRI) and, for training,
``labelsTr/<case><ending>``; 3D cases are cut into their slices along the first
array axis (z), 2D cases are one slice. Intensities are rescaled per volume from
its 1st-99th percentiles to [0, 1] and then standardised with the ImageNet
statistics (per channel for 3 channels, their mean for one), as torchvision's
ImageNet weights expect.
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

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def read_dataset_json(folder: Path) -> dict[str, Any]:
    """The common format's dataset.json, of one channel."""
    return common_format.read_dataset_json(folder, method="fcn", channels=1, why="one grey-level image per case")


def rescale(volume: np.ndarray) -> np.ndarray:
    """Per-volume 1st-99th percentile range → [0, 1] (clipped)."""
    lo, hi = np.percentile(volume, [1, 99])
    return np.clip((volume - lo) / (hi - lo + 1e-6), 0.0, 1.0).astype(np.float32)


def to_network_input(slices: torch.Tensor, rgb: bool) -> torch.Tensor:
    """(N, 1, H, W) in [0, 1] → standardised (N, 3 or 1, H, W): grayscale given as 3 equal channels when ``rgb``."""
    if rgb:
        mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
        std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
        return (slices.expand(-1, 3, -1, -1) - mean) / std
    return (slices - float(np.mean(IMAGENET_MEAN))) / float(np.mean(IMAGENET_STD))


def letterbox(slices: torch.Tensor, size: int, mode: str) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Scale the longer side to ``size`` and zero-pad the rest (N, C, H, W); returns the box (top, left, h, w)."""
    h, w = slices.shape[-2:]
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    resized = F.interpolate(slices, size=(nh, nw), mode=mode, **kwargs)
    top, left = (size - nh) // 2, (size - nw) // 2
    out = torch.zeros((*slices.shape[:2], size, size), dtype=slices.dtype)
    out[..., top : top + nh, left : left + nw] = resized
    return out, (top, left, nh, nw)


def read_image(folder: Path, case: str, ending: str) -> tuple[np.ndarray, sitk.Image]:
    """(Z, Y, X) rescaled first channel (Z = 1 for a 2D case) and its image (for the geometry)."""
    path = folder / f"{case}_0000{ending}"
    try:
        image = sitk.ReadImage(str(path))
    except RuntimeError as err:
        raise MethodError(f"case {case}: cannot read {path} ({str(err).strip().splitlines()[-1]})") from err
    array = rescale(sitk.GetArrayFromImage(image).astype(np.float32))
    return (array[None] if array.ndim == 2 else array), image


def read_cases(folder: Path, values: list[int], where: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """(image (Z, Y, X) in [0, 1], class indices (Z, Y, X)) of every case of a training-style folder."""
    meta = read_dataset_json(folder)
    ending = meta["file_ending"]
    cases = list_cases(folder / "imagesTr", ending)
    if not cases:
        raise MethodError(f"{where} {folder}: no cases (*_0000{ending}) in {folder / 'imagesTr'}")
    return [(read_image(folder / "imagesTr", case, ending)[0],
             to_classes(read_label(folder / "labelsTr", case, ending), values, f"{where} case {case}"))
            for case in cases]


def training_slices(cases: list[tuple[np.ndarray, np.ndarray]], size: int) -> tuple[torch.Tensor, torch.Tensor]:
    """All slices as (N, 1, size, size) in [0, 1] and (N, size, size) class indices."""
    xs, ys = [], []
    for image, label in cases:
        x = torch.from_numpy(image)[:, None]
        y = torch.from_numpy(label)[:, None].float()
        xs.append(letterbox(x, size, "bilinear")[0])
        ys.append(letterbox(y, size, "nearest")[0][:, 0].long())
    return torch.cat(xs), torch.cat(ys)
