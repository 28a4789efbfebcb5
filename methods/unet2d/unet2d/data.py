"""Common-format cases → normalised, letterboxed 2D slices; the class map of the two label settings.

A case is ``<folder>/<case>_<chan:04d><ending>`` (one file per channel) and, for
training, ``labelsTr/<case><ending>``; 3D cases are cut into their slices along
the first array axis (z), 2D cases are one slice.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch
import torch.nn.functional as F
from segarena_kit import MethodError
from segarena_kit.common_format import list_cases, read_dataset_json, read_label


@dataclass(frozen=True)
class ClassMap:
    """The network's classes: their names, and which dataset label value each one reads and writes.

    ``all``: every label of dataset.json, class index k = the k-th label by value.
    ``lv_myo``: background, LV, MYO; every other label (RV, ...) is merged into background,
    so it is neither learned nor predicted.
    """

    mode: str
    names: tuple[str, ...]
    values: tuple[int, ...]  # dataset label value of each class (what predict writes)

    @classmethod
    def from_labels(cls, labels: dict[str, int], mode: str) -> ClassMap:
        regions = [name for name, value in labels.items() if isinstance(value, list)]
        if regions:
            raise MethodError(f"dataset.json declares regions ({', '.join(regions)}: lists of label values, "
                              f"labels {labels}) and unet2d predicts one class per pixel; use a region-aware "
                              "method (segresnet or nnunet) for this dataset")
        by_value = sorted(labels.items(), key=lambda item: int(item[1]))
        if mode == "all":
            return cls(mode, tuple(n for n, _ in by_value), tuple(int(v) for _, v in by_value))
        missing = [name for name in ("LV", "MYO") if name not in labels]
        if missing:
            raise MethodError(f"params.classes: lv_myo needs labels named LV and MYO in dataset.json; "
                              f"{', '.join(missing)} missing from {labels}; use classes: all")
        background = next((n for n, v in by_value if int(v) == 0), "background")
        return cls(mode, (background, "LV", "MYO"), (0, int(labels["LV"]), int(labels["MYO"])))

    @property
    def foreground(self) -> tuple[str, ...]:
        return self.names[1:]

    def to_classes(self, label: np.ndarray, where: str) -> np.ndarray:
        """Dataset label values → class indices (lv_myo: unlisted labels become background)."""
        values = np.unique(label)
        unknown = sorted(set(values.tolist()) - set(self.values))
        if unknown and self.mode == "all":
            raise MethodError(f"{where}: label values {unknown} are not in dataset.json's labels "
                              f"{dict(zip(self.names, self.values, strict=True))}")
        lut = np.zeros(max(int(values.max()), max(self.values)) + 1, dtype=np.int64)
        for index, value in enumerate(self.values):
            lut[value] = index
        return lut[label.astype(np.int64)]

    def to_values(self, classes: np.ndarray) -> np.ndarray:
        """Class indices → dataset label values, as written into predictions."""
        return np.asarray(self.values, dtype=np.uint8)[classes]


def normalise(volume: np.ndarray) -> np.ndarray:
    """Per-volume z-score on the 1st-99th percentile range (robust to the bias field's extremes)."""
    lo, hi = np.percentile(volume, [1, 99])
    clipped = np.clip(volume, lo, hi)
    return ((clipped - clipped.mean()) / (clipped.std() + 1e-6)).astype(np.float32)


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


def read_case_channels(folder: Path, case: str, n_channels: int, ending: str) -> tuple[np.ndarray, sitk.Image]:
    """(C, Z, Y, X) normalised channels (Z = 1 for a 2D case) and the first channel's image for its geometry."""
    images = []
    for c in range(n_channels):
        path = folder / f"{case}_{c:04d}{ending}"
        try:
            images.append(sitk.ReadImage(str(path)))
        except RuntimeError as err:
            raise MethodError(f"case {case}: cannot read {path} ({str(err).strip().splitlines()[-1]})") from err
    stacked = np.stack([normalise(sitk.GetArrayFromImage(im).astype(np.float32)) for im in images], axis=0)
    if stacked.ndim == 3:
        stacked = stacked[:, None]
    return stacked, images[0]


def load_training_slices(data: Path, size: int, class_map: ClassMap) -> tuple[torch.Tensor, torch.Tensor]:
    """All slices of ``data/imagesTr`` as (N, C, size, size) float and (N, size, size) class indices."""
    meta = read_dataset_json(data)
    ending, n_channels = meta["file_ending"], len(meta["channel_names"])
    cases = list_cases(data / "imagesTr", ending)
    if not cases:
        raise MethodError(f"no training cases (*_0000{ending}) in {data / 'imagesTr'}")
    xs, ys = [], []
    for case in cases:
        image, _ = read_case_channels(data / "imagesTr", case, n_channels, ending)
        label = class_map.to_classes(read_label(data / "labelsTr", case, ending), f"case {case}")
        x = torch.from_numpy(image).permute(1, 0, 2, 3)  # (Z, C, Y, X)
        y = torch.from_numpy(label)[:, None].float()
        xs.append(letterbox(x, size, "bilinear")[0])
        ys.append(letterbox(y, size, "nearest")[0][:, 0].long())
    return torch.cat(xs), torch.cat(ys)
