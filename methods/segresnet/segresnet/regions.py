"""The network's outputs: one sigmoid channel per region, and the exact way back to the label map.

A dataset with regions (nnU-Net's convention, as the common format writes them) has ``labels`` such as
``{"background": 0, "WT": [1, 2, 3], "TC": [2, 3], "ET": [3]}`` and ``regions_class_order`` ``[1, 2, 3]``:
region k is the set of label values listed, and turning region masks back into a label map writes
``regions_class_order[k]`` wherever region k is predicted, regions in their declared order (a later,
nested region overwrites an earlier one). A dataset without regions gets one region per foreground label
(``{"LA": [1]}``), written back in the order of the values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from segarena_kit import MethodError


@dataclass(frozen=True)
class Regions:
    names: tuple[str, ...]
    members: tuple[tuple[int, ...], ...]  # label values of each region
    writes: tuple[int, ...]  # the label value each region writes back (regions_class_order)

    @classmethod
    def from_meta(cls, meta: dict[str, Any], where: str) -> Regions:
        labels = meta.get("labels") or {}
        items = [(name, value) for name, value in labels.items() if name.lower() not in ("background", "ignore")]
        if not items:
            raise MethodError(f"{where}: dataset.json has no foreground labels ({labels})")
        if any(isinstance(v, list) for _, v in items):
            order = meta.get("regions_class_order")
            if not isinstance(order, list) or len(order) != len(items):
                raise MethodError(f"{where}: dataset.json declares regions {[n for n, _ in items]} but its "
                                  f"regions_class_order {order!r} does not give one label value per region")
            members = tuple(tuple(int(x) for x in (v if isinstance(v, list) else [v])) for _, v in items)
            return cls(tuple(n for n, _ in items), members, tuple(int(x) for x in order))
        ordered = sorted(items, key=lambda item: int(item[1]))
        return cls(tuple(n for n, _ in ordered), tuple((int(v),) for _, v in ordered),
                   tuple(int(v) for _, v in ordered))

    @property
    def label_values(self) -> set[int]:
        return {0, *(v for m in self.members for v in m), *self.writes}

    def to_masks(self, label: np.ndarray) -> np.ndarray:
        """(D, H, W) label values → (R, D, H, W) float32 region masks."""
        return np.stack([np.isin(label, m) for m in self.members]).astype(np.float32)

    def to_label(self, masks: np.ndarray) -> np.ndarray:
        """(R, D, H, W) boolean region masks → (D, H, W) uint8 label map (regions in order, later ones on top)."""
        label = np.zeros(masks.shape[1:], np.uint8)
        for mask, value in zip(masks, self.writes, strict=True):
            label[mask.astype(bool)] = value
        return label

    def as_json(self) -> dict[str, Any]:
        return {"names": list(self.names), "members": [list(m) for m in self.members], "writes": list(self.writes)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Regions:
        return cls(tuple(data["names"]), tuple(tuple(m) for m in data["members"]), tuple(data["writes"]))
