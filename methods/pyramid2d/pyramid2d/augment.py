"""The seed's augmentation: rotation, warping and cropping, each with its own probability and range.

Per slice, independently: with ``rotation_prob`` a rotation by an angle from
[-rotation_deg, rotation_deg]; with ``warp_prob`` a "warp": independent x and y zoom factors
from [warp_min, 1], the shrunk image zero-padded back to size (centred); with ``crop_prob``
a random square crop whose side is a fraction from [crop_min, crop_max] of the image,
resized back to size. Images are interpolated bilinearly, masks by nearest neighbour
(so labels stay integer). Deviations from the seed: the crop ratio is drawn per slice (the
seed draws it once per dataset) and labels are never interpolated (the seed resizes them
cubically, which turns mixed pixels into background for its loss). A batch is reproducible
from its seed (its own generator).
"""

from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F


def _u(g: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand(1, generator=g))


def _warp(x: torch.Tensor, theta: torch.Tensor, mode: str) -> torch.Tensor:
    grid = F.affine_grid(theta[None], [1, *x.shape], align_corners=False)
    return F.grid_sample(x[None], grid, mode=mode, padding_mode="zeros", align_corners=False)[0]


def augment(images: torch.Tensor, masks: torch.Tensor, params: dict[str, Any], seed: int
            ) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 1, H, W) images and (N, H, W) class indices → augmented copies."""
    g = torch.Generator().manual_seed(seed)
    out_x, out_y = images.clone(), masks.clone()
    for i in range(len(images)):
        theta = torch.eye(3)
        if float(torch.rand(1, generator=g)) < float(params["rotation_prob"]):
            a = _u(g, -float(params["rotation_deg"]), float(params["rotation_deg"])) * math.pi / 180
            theta = theta @ torch.tensor([[math.cos(a), -math.sin(a), 0], [math.sin(a), math.cos(a), 0], [0, 0, 1.0]])
        if float(torch.rand(1, generator=g)) < float(params["warp_prob"]):
            zx, zy = _u(g, float(params["warp_min"]), 1.0), _u(g, float(params["warp_min"]), 1.0)
            theta = theta @ torch.diag(torch.tensor([1 / zx, 1 / zy, 1.0]))  # sample wider: the image shrinks
        if float(torch.rand(1, generator=g)) < float(params["crop_prob"]):
            side = _u(g, float(params["crop_min"]), float(params["crop_max"]))
            cx, cy = _u(g, -(1 - side), 1 - side), _u(g, -(1 - side), 1 - side)
            theta = theta @ torch.tensor([[side, 0, cx], [0, side, cy], [0, 0, 1.0]])
        if torch.equal(theta, torch.eye(3)):
            continue
        out_x[i] = _warp(images[i], theta[:2], "bilinear")
        out_y[i] = _warp(masks[i][None].float(), theta[:2], "nearest")[0].long()
    return out_x, out_y
