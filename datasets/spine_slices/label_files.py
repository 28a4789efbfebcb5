"""Label slices whose pixel values are ROI ids: reading PNG/JPG/NPY, learning the map, snapping JPEG noise.

PNG and NPY are lossless: their values are taken as they are. JPEG is lossy:
its values are snapped to the nearest ROI id of the label map, and the
number of pixels that changed is reported.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from harness.errors import InputDataError

#: Label file suffixes, in order of preference when a sample has several (lossless first).
LABEL_SUFFIXES = (".npy", ".png", ".jpg", ".jpeg")
LOSSY_SUFFIXES = (".jpg", ".jpeg")


def is_lossy(path: Path) -> bool:
    return path.suffix.lower() in LOSSY_SUFFIXES


def read_label_file(path: Path) -> np.ndarray:
    """The (rows, columns) integer array of a label slice; values as stored (JPEG: not snapped yet)."""
    suffix = path.suffix.lower()
    if suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except (OSError, ValueError, EOFError) as err:
            raise InputDataError(f"{path}: cannot be read as a NumPy array, it may be truncated ({err})") from err
    else:
        try:
            with Image.open(path) as image:
                image.load()
                array = _pixels(image, path)
        except (OSError, UnidentifiedImageError, SyntaxError) as err:
            raise InputDataError(f"{path}: cannot be read as an image, it may be truncated or corrupt ({err})") from err
    array = np.squeeze(np.asarray(array))
    if array.ndim != 2:
        raise InputDataError(f"{path}: expected a 2D label slice, found an array of shape {array.shape}")
    if array.dtype == bool:
        return array.astype(np.uint8)
    if not np.issubdtype(array.dtype, np.integer):
        if not np.all(np.isfinite(array)):
            raise InputDataError(f"{path}: label holds NaN or infinite values")
        rounded = np.rint(array)
        if not is_lossy(path) and not np.array_equal(rounded, array):
            raise InputDataError(f"{path}: label holds non-integer values (dtype {array.dtype}); expected ROI ids")
        array = rounded.astype(np.int64)
    if array.min(initial=0) < 0:
        raise InputDataError(f"{path}: label holds negative values (minimum {int(array.min())}); expected ROI ids >= 0")
    return array


def _pixels(image: Image.Image, path: Path) -> np.ndarray:
    """A single channel of ROI ids: palette indices, grey values, or equal RGB channels."""
    if image.mode in ("L", "P", "I", "I;16", "I;16B", "I;16L", "1"):
        return np.asarray(image)
    if image.mode in ("LA", "PA"):
        return np.asarray(image)[..., 0]
    if image.mode in ("RGB", "RGBA"):
        rgb = np.asarray(image)[..., :3].astype(np.int64)
        if is_lossy(path):
            return np.rint(rgb.mean(axis=-1)).astype(np.int64)
        if not (np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 0], rgb[..., 2])):
            raise InputDataError(f"{path}: colour label image; expected one channel of ROI ids (grey or palette)")
        return rgb[..., 0]
    raise InputDataError(f"{path}: unsupported image mode {image.mode} for a label slice")


@dataclass(frozen=True)
class LabelMapSpec:
    """ROI ids (raw pixel values) and the names of the consecutive labels they become, in id order."""

    roi_ids: tuple[int, ...]  # sorted, roi_ids[0] == 0 (background)
    names: tuple[str, ...]

    @property
    def labels(self) -> dict[str, int]:
        """Name → consecutive label, as dataset.json declares it."""
        return {name: label for label, name in enumerate(self.names)}

    @classmethod
    def declared(cls, option: Mapping[str, object]) -> LabelMapSpec:
        """From the adapter option ``labels: {name: ROI id}``; ``background`` must be ROI id 0."""
        pairs: list[tuple[int, str]] = []
        for name, value in option.items():
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise InputDataError(f"adapter option labels.{name}: ROI id {value!r} is not an integer >= 0")
            pairs.append((value, str(name)))
        ids = [roi for roi, _ in pairs]
        if len(set(ids)) != len(ids):
            raise InputDataError(f"adapter option labels: ROI ids repeat ({sorted(ids)})")
        if dict(option).get("background") != 0:
            raise InputDataError("adapter option labels: needs `background: 0` (ROI id 0 is the background)")
        pairs.sort()
        return cls(tuple(roi for roi, _ in pairs), tuple(name for _, name in pairs))

    @classmethod
    def learnt(cls, roi_ids: Iterable[int]) -> LabelMapSpec:
        """From the ROI ids seen in the data; label names are ``roi_<id>``."""
        ids = sorted({0, *(int(v) for v in roi_ids)})
        return cls(tuple(ids), ("background", *(f"roi_{v}" for v in ids[1:])))

    def to_labels(self, array: np.ndarray, path: Path) -> np.ndarray:
        """Map lossless ROI ids to consecutive labels; an id outside the map is an error naming the file."""
        found = np.unique(array)
        unknown = sorted(set(found.tolist()) - set(self.roi_ids))
        if unknown:
            raise InputDataError(
                f"{path}: ROI ids {unknown} are outside the label map (ROI ids {list(self.roi_ids)}); "
                "declare them in the adapter option `labels:` or fix the label file"
            )
        return np.searchsorted(np.asarray(self.roi_ids), array).astype(np.uint8)

    def snap(self, array: np.ndarray) -> tuple[np.ndarray, int]:
        """Lossy values → the nearest ROI id's label (ties to the lower id); returns (labels, pixels changed)."""
        ids = np.asarray(self.roi_ids)
        upper = np.clip(np.searchsorted(ids, array), 1, len(ids) - 1) if len(ids) > 1 else np.zeros_like(array)
        lower = np.maximum(upper - 1, 0)
        choose_upper = np.abs(ids[upper] - array) < np.abs(array - ids[lower])
        labels = np.where(choose_upper, upper, lower).astype(np.uint8)
        return labels, int(np.count_nonzero(ids[labels] != array))


def samples_per_roi(label_sets: Mapping[str, Sequence[int]]) -> dict[int, list[str]]:
    """ROI id → the samples (sorted) whose lossless labels contain it."""
    seen: dict[int, list[str]] = {}
    for sample, values in sorted(label_sets.items()):
        for value in values:
            seen.setdefault(int(value), []).append(sample)
    return seen
