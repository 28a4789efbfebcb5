"""The seed's locate-then-crop geometry: down-scaling for the locator, boxes, uniform crops, paste-back.

All boxes are (start, stop) per axis in (D, H, W) voxel indices of the full-resolution volume, ``stop``
exclusive. A crop of a fixed size may reach outside the volume (a structure at the edge, a volume
smaller than the crop): the part outside is zero-padded when cropping and dropped when pasting back,
so a pasted prediction always has the volume's exact shape.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

Box = tuple[tuple[int, int], ...]


#: The smallest size per axis the networks get: 2 voxels at the deepest of VNet's 4 down-samplings
#: (instance normalisation needs more than one voxel).
MIN_SIZE = 32


def round_up(value: int, multiple: int = 16) -> int:
    """``value`` rounded up to a multiple of ``multiple``, at least MIN_SIZE."""
    return max(MIN_SIZE, int(math.ceil(value / multiple)) * multiple)


def pad_to_multiple(volume: np.ndarray, multiple: int = 16) -> tuple[np.ndarray, tuple[int, ...]]:
    """Zero-pad the last three axes at their end to multiples of ``multiple`` (>= MIN_SIZE); returns it and the original shape."""
    shape = volume.shape[-3:]
    target = [round_up(s, multiple) for s in shape]
    pad = [(0, 0)] * (volume.ndim - 3) + [(0, t - s) for s, t in zip(shape, target, strict=True)]
    return np.pad(volume, pad), tuple(shape)


def downscaled_shape(shape: Sequence[int], scale: Sequence[float]) -> tuple[int, ...]:
    return tuple(max(1, int(round(s * f))) for s, f in zip(shape, scale, strict=True))


def downscale_image(image: np.ndarray, scale: Sequence[float]) -> np.ndarray:
    """(C, D, H, W) → trilinear down-scaled by ``scale`` (D, H, W factors)."""
    size = downscaled_shape(image.shape[1:], scale)
    x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None]
    return F.interpolate(x, size=size, mode="trilinear", align_corners=False)[0].numpy()


def downscale_label(label: np.ndarray, scale: Sequence[float], n_classes: int) -> np.ndarray:
    """(D, H, W) class map → down-scaled by majority of the one-hot area averages (classes kept)."""
    size = downscaled_shape(label.shape, scale)
    onehot = F.one_hot(torch.from_numpy(label.astype(np.int64)), n_classes).permute(3, 0, 1, 2).float()[None]
    return F.interpolate(onehot, size=size, mode="trilinear", align_corners=False)[0].argmax(0).numpy()


def bounding_box(mask: np.ndarray) -> Box | None:
    """(start, stop) per axis of the True voxels; None when there are none."""
    if not mask.any():
        return None
    box = []
    for axis in range(mask.ndim):
        other = tuple(a for a in range(mask.ndim) if a != axis)
        hits = np.flatnonzero(mask.any(axis=other))
        box.append((int(hits[0]), int(hits[-1]) + 1))
    return tuple(box)


def scale_box_up(box: Box, scale: Sequence[float], full_shape: Sequence[int]) -> Box:
    """A box found on the down-scaled volume → the full-resolution voxels it covers (outward rounding)."""
    out = []
    for (start, stop), f, n in zip(box, scale, full_shape, strict=True):
        out.append((max(0, int(math.floor(start / f))), min(int(n), int(math.ceil(stop / f)))))
    return tuple(out)


def add_buffer(box: Box, buffer: Sequence[int], shape: Sequence[int]) -> Box:
    """Widen by ``buffer`` voxels on each side, clipped to the volume."""
    return tuple((max(0, a - b), min(int(n), z + b)) for (a, z), b, n in zip(box, buffer, shape, strict=True))


def crop_size_for(boxes: Sequence[Box], multiple: int = 16) -> tuple[int, ...]:
    """The seed's uniform patch: the largest box extent per axis, rounded up to what the network accepts."""
    return tuple(round_up(max(box[axis][1] - box[axis][0] for box in boxes), multiple) for axis in range(3))


def place_crop(box: Box, size: Sequence[int], shape: Sequence[int]) -> tuple[int, ...]:
    """Start of a crop of ``size`` centred on ``box``, moved inside the volume where the volume is large enough.

    When ``size >= box`` on every axis the crop contains the whole box; where the volume is smaller
    than ``size`` the crop starts at 0 and its end is zero padding.
    """
    starts = []
    for (a, z), s, n in zip(box, size, shape, strict=True):
        start = (a + z) // 2 - s // 2
        start = 0 if n <= s else min(max(start, 0), n - s)
        if s >= z - a:  # keep the whole box inside the crop
            start = min(start, a)
            start = max(start, z - s)
        starts.append(int(start))
    return tuple(starts)


def _overlap(start: int, size: int, n: int) -> tuple[slice, slice]:
    """(slice of the volume, slice of the crop) where a crop [start, start+size) meets [0, n)."""
    lo, hi = max(start, 0), min(start + size, n)
    if hi <= lo:
        return slice(0, 0), slice(0, 0)
    return slice(lo, hi), slice(lo - start, hi - start)


def extract(volume: np.ndarray, start: Sequence[int], size: Sequence[int]) -> np.ndarray:
    """The crop [start, start+size) of the last three axes, zero where it leaves the volume."""
    out = np.zeros((*volume.shape[:-3], *size), dtype=volume.dtype)
    pairs = [_overlap(s0, sz, n) for s0, sz, n in zip(start, size, volume.shape[-3:], strict=True)]
    src = (Ellipsis, *(p[0] for p in pairs))
    dst = (Ellipsis, *(p[1] for p in pairs))
    out[dst] = volume[src]
    return out


def paste(crop: np.ndarray, start: Sequence[int], shape: Sequence[int], fill: int = 0) -> np.ndarray:
    """A (D, H, W) volume of ``shape`` holding ``crop`` at ``start`` (the part outside dropped), ``fill`` elsewhere."""
    out = np.full(tuple(shape), fill, dtype=crop.dtype)
    pairs = [_overlap(s0, sz, n) for s0, sz, n in zip(start, crop.shape, shape, strict=True)]
    out[tuple(p[0] for p in pairs)] = crop[tuple(p[1] for p in pairs)]
    return out
