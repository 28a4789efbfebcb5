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
under ``"area"``); MASD the mean of the two directed means.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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
    descriptions: dict[str, str] = field(default_factory=dict)

    def describe(self, metric: str) -> str | None:
        """How this convention defines ``metric``, or None when it is the catalogue's definition."""
        return self.descriptions.get(metric)


_VOXEL = "border voxels (mask XOR erosion with the face-connected cross), voxel-centre distances"
_SEGARENA = Convention(
    name="segarena",
    surface="voxel",
    hd95_pooling="max_directed",
    weighting="count",
    float32=False,
    descriptions={
        "hd_mm": f"max directed distance between {_VOXEL}",
        "hd95_mm": "max of the two directed 95th percentiles (linear interpolation), " + _VOXEL,
        "assd_mm": "mean of the pooled distances of both directions, " + _VOXEL,
        "masd_mm": "mean of the two directed mean distances, " + _VOXEL,
        "nsd": "share of border voxels of both masks within the tolerance of the other border",
    },
)
_MEDPY = Convention(
    name="medpy",
    surface="voxel",
    hd95_pooling="pooled",
    weighting="count",
    float32=False,
    descriptions={
        "hd_mm": "medpy.metric.binary.hd (connectivity=1)",
        "hd95_mm": "medpy.metric.binary.hd95: 95th percentile of the pooled distances of both directions",
        "assd_mm": "medpy.metric.binary.assd: mean of the pooled distances",
        "masd_mm": "mean of medpy.metric.binary.asd in both directions",
        "nsd": "not in medpy: share of medpy border voxels within the tolerance (as MONAI)",
    },
)
_MONAI = Convention(
    name="monai",
    surface="voxel",
    hd95_pooling="max_directed",
    weighting="count",
    float32=True,
    descriptions={
        "hd_mm": "monai.metrics.compute_hausdorff_distance",
        "hd95_mm": "monai.metrics.compute_hausdorff_distance(percentile=95): max of the directed percentiles",
        "assd_mm": "monai.metrics.compute_average_surface_distance(symmetric=True)",
        "masd_mm": "mean of monai.metrics.compute_average_surface_distance(symmetric=False) in both directions",
        "nsd": "monai.metrics.compute_surface_dice (use_subvoxels=False)",
    },
)
_DEEPMIND = Convention(
    name="deepmind",
    surface="surfel",
    hd95_pooling="max_directed",
    weighting="area",
    float32=False,
    descriptions={
        "hd_mm": "surface_distance.compute_robust_hausdorff(percent=100) on surfels",
        "hd95_mm": "surface_distance.compute_robust_hausdorff(percent=95): area-weighted, max of directions",
        "assd_mm": "area-weighted mean of the pooled surfel distances of both directions",
        "masd_mm": "mean of the two values of surface_distance.compute_average_surface_distance",
        "nsd": "surface_distance.compute_surface_dice_at_tolerance",
    },
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
