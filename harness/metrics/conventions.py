"""Surface-distance conventions: the choices on which medpy, MONAI and DeepMind's surface-distance differ.

Overlap and volume metrics are the same formula in every convention (they only
differ on empty masks, which the policy decides, never the convention). The
surface metrics differ in four choices, each a field of :class:`Convention`:

* ``surface``: ``"voxel"`` takes the border voxels of each mask, ``mask XOR
  erosion(mask)`` with the face-connected cross (4-neighbourhood in 2D,
  6-neighbourhood in 3D), distances between voxel centres (medpy
  ``connectivity=1``, MONAI). ``"surfel"`` takes DeepMind's surface elements on
  the grid of voxel corners, each weighted by its area in mm² (length in mm in 2D).
  In every convention the outside of the image is background, so a mask touching
  the image border has a surface there.
* ``hd95_pooling``: ``"pooled"`` takes the 95th percentile of the distances of
  both directions together (medpy); ``"max_directed"`` the larger of the two
  directed 95th percentiles (MONAI, DeepMind, Metrics Reloaded).
* ``weighting``: ``"count"`` weighs every border voxel equally (percentiles by
  numpy's linear interpolation); ``"area"`` weighs every surfel by its area
  (percentile = the first distance whose cumulative area share reaches 95 %).
* ``float32``: MONAI returns float32 distances; its convention rounds the
  distances to float32 (which also decides ties at the NSD tolerance) as MONAI does.

ASSD is the mean over the pooled distances of both directions (area-weighted
under ``"area"``); MASD the mean of the two directed means. How each convention defines
each metric, in words, is in the metric's definition (:mod:`harness.metrics.definitions`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from harness.registry import Registry

ConventionName = Literal["segarena", "medpy", "monai", "deepmind"]
CONVENTION_NAMES: tuple[ConventionName, ...] = ("segarena", "medpy", "monai", "deepmind")


@dataclass(frozen=True)
class Convention:
    """One way of turning two masks into surface distances and reducing them (see the module docstring)."""

    name: ConventionName
    surface: Literal["voxel", "surfel"]
    hd95_pooling: Literal["pooled", "max_directed"]
    weighting: Literal["count", "area"]
    float32: bool


_SEGARENA = Convention(
    name="segarena",
    surface="voxel",
    hd95_pooling="max_directed",
    weighting="count",
    float32=False,
)
_MEDPY = Convention(
    name="medpy",
    surface="voxel",
    hd95_pooling="pooled",
    weighting="count",
    float32=False,
)
_MONAI = Convention(
    name="monai",
    surface="voxel",
    hd95_pooling="max_directed",
    weighting="count",
    float32=True,
)
_DEEPMIND = Convention(
    name="deepmind",
    surface="surfel",
    hd95_pooling="max_directed",
    weighting="area",
    float32=False,
)
CONVENTIONS: dict[str, Convention] = {c.name: c for c in (_SEGARENA, _MEDPY, _MONAI, _DEEPMIND)}


#: The conventions as a registry (did-you-mean, ``segarena list``).
CONVENTION_REGISTRY: Registry[Convention] = Registry("convention", ordered=True)
for _convention in CONVENTIONS.values():
    CONVENTION_REGISTRY.add(_convention.name, _convention, description=(
        f"surface {_convention.surface}, hd95 {_convention.hd95_pooling}, weighting {_convention.weighting}"
        + (", float32 distances" if _convention.float32 else "")))


def get_convention(name: str) -> Convention:
    """The convention called ``name``; :class:`UnknownNameError` with did-you-mean for an unknown one
    (settings validation catches it first)."""
    return CONVENTION_REGISTRY.get(name)
