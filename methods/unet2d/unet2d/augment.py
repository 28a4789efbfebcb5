"""Augmentation presets on image + mask pairs, built on torchvision.transforms.v2.

v2 applies one draw of each geometric transform to the image (bilinear) and to
the mask (nearest), so the pair stays aligned. Images are z-scored (not in
[0, 1]), so intensity changes are our own small transform that touches the
image only and never clamps. Each slice gets its own draw; a batch is
reproducible from its seed (the global torch RNG is forked, not consumed).

    none      nothing
    normal    horizontal flip; affine (rotation ±15°, scale 0.9-1.1, shift 5 %) with p 0.75;
              random resized crop (80-100 % of the area) with p 0.5; gain 0.8-1.2, offset ±0.1
    extreme   horizontal and vertical flips; affine (rotation ±180°, scale 0.7-1.4, shift 10 %,
              shear ±10°) with p 0.9; elastic warp with p 0.5; random resized crop (50-100 %)
              with p 0.7; gain 0.6-1.5, offset ±0.3, Gaussian noise (sd 0.1)
"""

from __future__ import annotations

from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2


class RandomIntensity(v2.Transform):
    """``image * gain + offset (+ noise)`` on the image only; masks pass through unchanged."""

    def __init__(self, gain: tuple[float, float], offset: tuple[float, float], noise_sd: float = 0.0) -> None:
        super().__init__()
        self.gain, self.offset, self.noise_sd = gain, offset, noise_sd

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        gain = float(torch.empty(1).uniform_(*self.gain))
        offset = float(torch.empty(1).uniform_(*self.offset))
        return {"gain": gain, "offset": offset}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not isinstance(inpt, tv_tensors.Image):
            return inpt
        out = inpt.as_subclass(torch.Tensor) * params["gain"] + params["offset"]
        if self.noise_sd > 0:
            out = out + self.noise_sd * torch.randn_like(out)
        return tv_tensors.wrap(out, like=inpt)


def build_preset(name: str, size: int) -> v2.Compose | None:
    """The transform pipeline of preset ``name`` for ``size`` × ``size`` slices (None for ``none``)."""
    if name == "none":
        return None
    if name == "normal":
        return v2.Compose([
            v2.RandomHorizontalFlip(0.5),
            v2.RandomApply([v2.RandomAffine(degrees=15, translate=(0.05, 0.05), scale=(0.9, 1.1))], p=0.75),
            v2.RandomApply([v2.RandomResizedCrop(size, scale=(0.8, 1.0), ratio=(0.9, 1.1))], p=0.5),
            RandomIntensity(gain=(0.8, 1.2), offset=(-0.1, 0.1)),
        ])
    if name == "extreme":
        return v2.Compose([
            v2.RandomHorizontalFlip(0.5),
            v2.RandomVerticalFlip(0.5),
            v2.RandomApply([v2.RandomAffine(degrees=180, translate=(0.1, 0.1), scale=(0.7, 1.4), shear=10)], p=0.9),
            v2.RandomApply([v2.ElasticTransform(alpha=0.3 * size, sigma=max(2.0, 0.04 * size))], p=0.5),
            v2.RandomApply([v2.RandomResizedCrop(size, scale=(0.5, 1.0), ratio=(0.75, 1.33))], p=0.7),
            RandomIntensity(gain=(0.6, 1.5), offset=(-0.3, 0.3), noise_sd=0.1),
        ])
    raise ValueError(f"unknown augmentation preset {name!r}")


class Augmenter:
    """Applies a preset slice by slice to a batch: ``(images (N, C, H, W), masks (N, H, W), seed)``."""

    def __init__(self, preset: str, size: int) -> None:
        self.preset = preset
        self.pipeline = build_preset(preset, size)

    def __call__(self, images: torch.Tensor, masks: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.pipeline is None:
            return images, masks
        out_images, out_masks = torch.empty_like(images), torch.empty_like(masks)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            for i in range(len(images)):
                image, mask = self.pipeline(tv_tensors.Image(images[i]), tv_tensors.Mask(masks[i][None]))
                out_images[i], out_masks[i] = image.as_subclass(torch.Tensor), mask.as_subclass(torch.Tensor)[0]
        return out_images, out_masks
