"""The authors' augmentation (``data_augmenter``), per slice: rotation N(0,1)·10° and scale 1 + N(0,1)·0.2,
both clipped at 3 standard deviations; no shift, no intensity change, no flip. Image bilinear, label nearest."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F


def augment(images: torch.Tensor, labels: torch.Tensor, rotation_sd_deg: float, scale_sd: float,
            generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 1, H, W) float images and (N, H, W) long labels, each slice rotated and scaled about its centre."""
    n = images.shape[0]
    if n == 0 or (rotation_sd_deg == 0 and scale_sd == 0):
        return images, labels
    angle = torch.randn(n, generator=generator).clamp(-3, 3) * math.radians(rotation_sd_deg)
    scale = 1 + torch.randn(n, generator=generator).clamp(-3, 3) * scale_sd
    scale = scale.clamp(min=0.1)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # output pixel -> input pixel: the inverse of rotating by `angle` and zooming by `scale`
    theta = torch.stack([torch.stack([cos, -sin, torch.zeros(n)], 1), torch.stack([sin, cos, torch.zeros(n)], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    warped = F.grid_sample(images, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    warped_labels = F.grid_sample(labels[:, None].float(), grid, mode="nearest", padding_mode="zeros",
                                  align_corners=False)[:, 0].long()
    return warped, warped_labels
