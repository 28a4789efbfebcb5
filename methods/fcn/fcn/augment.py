"""The tutorial's "random perturbations (color, contrast changes, etc.)" on image + mask batches.

``digits`` draws per slice: a contrast change (gamma in [0.7, 1.5] on the [0, 1]
intensities), a gain in [0.8, 1.2] and an offset in [-0.1, 0.1] (clipped back to
[0, 1]), a horizontal flip with probability 0.5, and a rotation in [-10°, 10°]
(bilinear for the image, nearest for the mask). A batch is reproducible from its
seed (its own generator; the global RNG is not touched).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

GAMMA, GAIN, OFFSET, ROTATION_DEG = (0.7, 1.5), (0.8, 1.2), (-0.1, 0.1), 10.0


def _uniform(generator: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=generator)


def augment(images: torch.Tensor, masks: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 1, H, W) images in [0, 1] and (N, H, W) class indices → perturbed copies."""
    g = torch.Generator().manual_seed(seed)
    n = len(images)
    gamma = _uniform(g, n, *GAMMA).view(n, 1, 1, 1)
    gain = _uniform(g, n, *GAIN).view(n, 1, 1, 1)
    offset = _uniform(g, n, *OFFSET).view(n, 1, 1, 1)
    x = (images.clamp(0, 1) ** gamma * gain + offset).clamp(0, 1)
    y = masks.clone()
    flip = torch.rand(n, generator=g) < 0.5
    x[flip], y[flip] = x[flip].flip(-1), y[flip].flip(-1)
    angle = _uniform(g, n, -ROTATION_DEG, ROTATION_DEG) * math.pi / 180
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 1], theta[:, 1, 0], theta[:, 1, 1] = cos, -sin, sin, cos
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    y = F.grid_sample(y[:, None].float(), grid, mode="nearest", padding_mode="zeros", align_corners=False)
    return x, y[:, 0].long()
