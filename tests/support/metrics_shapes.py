"""Random anisotropic 2D / 3D mask pairs with a fixed seed, for the oracle tests and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage


@dataclass(frozen=True)
class MaskPair:
    """A reference and a prediction mask (both non-empty) and the spacing in array axis order."""

    case_id: str
    reference: np.ndarray
    prediction: np.ndarray
    spacing_mm: tuple[float, ...]


def _blob(rng: np.random.Generator, shape: tuple[int, ...], kind: str) -> np.ndarray:
    if kind == "smooth":  # blobby, often several components and holes
        noise = ndimage.gaussian_filter(rng.standard_normal(shape), sigma=[max(0.6, n / 8) for n in shape])
        return noise > np.quantile(noise, rng.uniform(0.5, 0.9))
    if kind == "ellipsoid":
        grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
        centre = [rng.uniform(0, n) for n in shape]  # may sit near or on the image border
        radii = [rng.uniform(1, n / 1.5) for n in shape]
        return sum(((g - c) / r) ** 2 for g, c, r in zip(grids, centre, radii, strict=True)) <= 1.0
    if kind == "sparse":  # scattered voxels: many tiny components
        return rng.random(shape) < rng.uniform(0.01, 0.1)
    if kind == "voxel":  # a single voxel
        mask = np.zeros(shape, dtype=bool)
        mask[tuple(int(rng.integers(0, n)) for n in shape)] = True
        return mask
    if kind == "full_edge":  # a slab touching the image border
        mask = np.zeros(shape, dtype=bool)
        axis = int(rng.integers(0, len(shape)))
        index = [slice(None)] * len(shape)
        index[axis] = slice(0, int(rng.integers(1, shape[axis])))
        mask[tuple(index)] = True
        return mask
    raise ValueError(kind)


def _perturb(rng: np.random.Generator, mask: np.ndarray) -> np.ndarray:
    choice = rng.integers(0, 4)
    if choice == 0:
        shift = [int(rng.integers(-2, 3)) for _ in mask.shape]
        return np.roll(mask, shift, axis=tuple(range(mask.ndim)))
    if choice == 1:
        return ndimage.binary_dilation(mask, iterations=int(rng.integers(1, 3)))
    if choice == 2:
        flip = rng.random(mask.shape) < 0.05
        return mask ^ (flip & ndimage.binary_dilation(mask))
    return _blob(rng, mask.shape, "smooth")  # unrelated


def _spacing(rng: np.random.Generator, ndim: int) -> tuple[float, ...]:
    spacing = [round(float(rng.uniform(0.3, 3.5)), 4) for _ in range(ndim)]
    if ndim == 3 and rng.random() < 0.4:
        spacing[0] = round(float(rng.uniform(5.0, 10.0)), 3)  # thick slices, as in cine MRI
    return tuple(spacing)


def random_mask_pairs(n: int, seed: int = 20240601) -> list[MaskPair]:
    """``n`` varied pairs, alternately 2D and 3D, both masks non-empty."""
    rng = np.random.default_rng(seed)
    kinds = ["smooth", "ellipsoid", "sparse", "voxel", "full_edge", "smooth", "ellipsoid"]
    pairs: list[MaskPair] = []
    while len(pairs) < n:
        ndim = 2 if len(pairs) % 2 == 0 else 3
        shape = (
            tuple(int(rng.integers(5, 48)) for _ in range(2))
            if ndim == 2
            else (int(rng.integers(3, 14)), int(rng.integers(6, 30)), int(rng.integers(6, 30)))
        )
        kind = kinds[len(pairs) % len(kinds)]
        reference = _blob(rng, shape, kind)
        prediction = _perturb(rng, reference) if rng.random() < 0.8 else _blob(rng, shape, kinds[rng.integers(0, 5)])
        if not reference.any() or not prediction.any():
            continue
        pairs.append(MaskPair(f"{len(pairs):02d}-{ndim}d-{kind}", reference, prediction, _spacing(rng, ndim)))
    return pairs
