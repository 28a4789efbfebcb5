"""Common-format cases → (C, D, H, W) channels normalised over the non-zero voxels per channel, region masks.

The BraTS recipe (MONAI's ``NormalizeIntensityd(nonzero=True, channel_wise=True)``): each channel is
z-scored over its non-zero voxels (the skull-stripped brain), background stays 0.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import SimpleITK as sitk
from segarena_kit import MethodError


def normalise_nonzero(channel: np.ndarray) -> np.ndarray:
    channel = channel.astype(np.float32)
    inside = channel != 0
    if not inside.any():
        return channel
    values = channel[inside]
    out = np.zeros_like(channel)
    out[inside] = (values - values.mean()) / (values.std() + 1e-8)
    return out


def read_image(folder: Path, case: str, n_channels: int, ending: str) -> tuple[np.ndarray, sitk.Image]:
    """(C, D, H, W) normalised channels and the first channel's image (its geometry)."""
    arrays, first = [], None
    for c in range(n_channels):
        path = folder / f"{case}_{c:04d}{ending}"
        try:
            image = sitk.ReadImage(str(path))
        except RuntimeError as err:
            raise MethodError(f"case {case}: cannot read {path} ({str(err).strip().splitlines()[-1]})") from err
        if image.GetDimension() != 3:
            raise MethodError(f"case {case}: {path} is {image.GetDimension()}D; segresnet needs 3D volumes")
        first = first or image
        arrays.append(normalise_nonzero(sitk.GetArrayFromImage(image)))
        if arrays[-1].shape != arrays[0].shape:
            raise MethodError(f"case {case}: {path} has shape {arrays[-1].shape}, channel 0 {arrays[0].shape}")
    assert first is not None
    return np.stack(arrays), first


def read_label(folder: Path, case: str, ending: str, shape: tuple[int, ...], allowed: set[int]) -> np.ndarray:
    path = folder / f"{case}{ending}"
    try:
        label = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    except RuntimeError as err:
        raise MethodError(f"case {case}: cannot read its label map {path}") from err
    if label.shape != shape:
        raise MethodError(f"case {case}: label map {path} has shape {label.shape}, the image {shape}")
    unknown = sorted(set(np.unique(label).tolist()) - allowed)
    if unknown:
        raise MethodError(f"case {case}: {path} holds label values {unknown} outside dataset.json's labels")
    return label
