"""The seed's augmentation of one training volume, seeded: each transform applied with probability 1/2.

- horizontal flip (the W axis);
- additive Gaussian noise (mean 0, ``noise_std`` in the normalised intensity units);
- rotation about the depth axis by a uniform angle in ±``rotation_deg`` (the seed: ±3°);
- translation by ±``translation_vox`` voxels along H, W or both (the seed's (0,5,0), (0,0,5), (0,-5,5), ...);
- elastic deformation (off by default, as in the seed: compute intense): a smooth random displacement.

Rotation, translation and deformation are one resampling: trilinear for the image, nearest for the
class map (labels stay labels), zero outside.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


class Augmenter:
    def __init__(self, params: dict) -> None:
        self.enabled = params["augmentation"] == "seed"
        self.noise_std = float(params["noise_std"])
        self.rotation_deg = float(params["rotation_deg"])
        self.translation_vox = int(params["translation_vox"])
        self.elastic = bool(params["elastic"])

    def __call__(self, image: np.ndarray, label: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        """(C, D, H, W) image and (D, H, W) class map → augmented copies (same shapes and dtypes)."""
        if not self.enabled:
            return image, label
        rng = np.random.default_rng(seed)
        if rng.random() < 0.5:
            image, label = image[..., ::-1], label[..., ::-1]
        angle = rng.uniform(-self.rotation_deg, self.rotation_deg) if rng.random() < 0.5 else 0.0
        shift = (0, 0)
        if self.translation_vox and rng.random() < 0.5:
            options = [(0, 1), (1, 0), (1, 1), (-1, 1), (1, -1), (0, -1), (-1, 0), (-1, -1)]
            dy, dx = options[int(rng.integers(len(options)))]
            shift = (dy * self.translation_vox, dx * self.translation_vox)
        deform = self.elastic and rng.random() < 0.5
        if angle or shift != (0, 0) or deform:
            image, label = self._resample(image, label, angle, shift, rng if deform else None)
        if self.noise_std and rng.random() < 0.5:
            image = image + rng.normal(0.0, self.noise_std, image.shape).astype(np.float32)
        return np.ascontiguousarray(image, dtype=np.float32), np.ascontiguousarray(label)

    def _resample(self, image: np.ndarray, label: np.ndarray, angle_deg: float, shift: tuple[int, int],
                  rng: np.random.Generator | None) -> tuple[np.ndarray, np.ndarray]:
        _, d, h, w = image.shape
        a = math.radians(angle_deg)
        cos, sin = math.cos(a), math.sin(a)
        # affine_grid maps output to input in normalised (x=W, y=H, z=D) coordinates; a voxel-space
        # rotation in the H-W plane becomes anisotropic there when H != W.
        theta = torch.tensor([[cos, -sin * h / w, 0.0, -2.0 * shift[1] / w],
                              [sin * w / h, cos, 0.0, -2.0 * shift[0] / h],
                              [0.0, 0.0, 1.0, 0.0]], dtype=torch.float32)[None]
        grid = F.affine_grid(theta, [1, 1, d, h, w], align_corners=False)
        if rng is not None:
            coarse = torch.from_numpy(rng.normal(0.0, 1.0, (1, 2, 4, 4, 4)).astype(np.float32))
            field = F.interpolate(coarse, size=(d, h, w), mode="trilinear", align_corners=True)[0]
            # about 2 voxels of displacement in H and W
            grid = grid.clone()
            grid[0, ..., 0] += field[0] * 4.0 / w
            grid[0, ..., 1] += field[1] * 4.0 / h
        x = torch.from_numpy(np.ascontiguousarray(image, dtype=np.float32))[None]
        y = torch.from_numpy(np.ascontiguousarray(label).astype(np.float32))[None, None]
        image_out = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)[0].numpy()
        label_out = F.grid_sample(y, grid, mode="nearest", padding_mode="zeros", align_corners=False)[0, 0].numpy()
        return image_out, label_out.astype(label.dtype)
