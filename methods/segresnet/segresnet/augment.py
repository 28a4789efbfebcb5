"""The BraTS recipe's training augmentation of one case, seeded.

A random crop of ``roi_size`` (the volume zero-padded first where it is smaller), a random flip on each
axis with probability ``flip_prob``, and per channel a random intensity scale ``x * (1 + u)``,
``u ~ U(-intensity_scale, intensity_scale)``, and shift ``x + v``, ``v ~ U(-intensity_shift, intensity_shift)``
(MONAI's RandScaleIntensityd / RandShiftIntensityd with prob 1, drawn per channel as the seed describes).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def pad_to(volume: np.ndarray, size: Sequence[int]) -> np.ndarray:
    """Zero-pad the last three axes at their end to at least ``size``."""
    pad = [(0, 0)] * (volume.ndim - 3) + [(0, max(0, s - n)) for n, s in zip(volume.shape[-3:], size, strict=True)]
    return np.pad(volume, pad)


def augment(image: np.ndarray, masks: np.ndarray, params: dict, rng: np.random.Generator,
            train: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """(C, D, H, W) image and (R, D, H, W) region masks → a crop of ``roi_size``, augmented when ``train``."""
    roi = [int(r) for r in params["roi_size"]]
    image, masks = pad_to(image, roi), pad_to(masks, roi)
    starts = [int(rng.integers(0, n - r + 1)) for n, r in zip(image.shape[1:], roi, strict=True)]
    window = tuple(slice(s, s + r) for s, r in zip(starts, roi, strict=True))
    image, masks = image[(slice(None), *window)], masks[(slice(None), *window)]
    if train:
        for axis in (1, 2, 3):
            if rng.random() < float(params["flip_prob"]):
                image, masks = np.flip(image, axis), np.flip(masks, axis)
        c = image.shape[0]
        scale = 1 + rng.uniform(-params["intensity_scale"], params["intensity_scale"], c).astype(np.float32)
        shift = rng.uniform(-params["intensity_shift"], params["intensity_shift"], c).astype(np.float32)
        image = image * scale[:, None, None, None] + shift[:, None, None, None]
    return np.ascontiguousarray(image, dtype=np.float32), np.ascontiguousarray(masks, dtype=np.float32)
