"""Inference of the three pipelines on one normalised (C, D, H, W) volume → (D, H, W) class indices.

- ``direct``: sliding windows of ``patch_size`` over the whole volume (MONAI's sliding_window_inference,
  Gaussian-weighted overlap 1/4), so a full-size LA volume (88 x 640 x 640) never enters the network whole;
- ``locator``: the locator VNet on the volume down-scaled by ``locator_scale``, its class probabilities
  up-scaled back to the volume's grid;
- ``locate_crop``: the box of the largest connected component of the locator's foreground, scaled back, widened by ``crop_buffer``, a crop of the
  trained uniform ``crop_size`` around it, the segmentation VNet on that crop, its classes pasted back
  into a volume of the input's exact shape (background elsewhere).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import torch
import torch.nn.functional as F

from vnet.crop import (
    add_buffer,
    bounding_box,
    downscale_image,
    extract,
    pad_to_multiple,
    paste,
    place_crop,
    scale_box_up,
)

log = logging.getLogger("vnet")


@torch.no_grad()
def run_padded(model: torch.nn.Module, image: np.ndarray, device: torch.device) -> torch.Tensor:
    """Logits (K, D, H, W) of a volume zero-padded to multiples of 16 and cut back to its shape."""
    padded, shape = pad_to_multiple(image)
    logits = model(torch.from_numpy(np.ascontiguousarray(padded))[None].to(device))[0]
    return logits[:, : shape[0], : shape[1], : shape[2]].float().cpu()


@torch.no_grad()
def predict_direct(model: torch.nn.Module, image: np.ndarray, patch_size: Sequence[int],
                   device: torch.device) -> np.ndarray:
    from monai.inferers import sliding_window_inference

    x = torch.from_numpy(np.ascontiguousarray(image))[None].to(device)
    logits = sliding_window_inference(x, roi_size=tuple(int(p) for p in patch_size), sw_batch_size=1,
                                      predictor=model, overlap=0.25, mode="gaussian", sw_device=device,
                                      device=torch.device("cpu"))
    return logits[0].argmax(0).numpy()


@torch.no_grad()
def locator_probabilities(locator: torch.nn.Module, image: np.ndarray, scale: Sequence[float],
                          device: torch.device) -> torch.Tensor:
    """Class probabilities (K, d, h, w) of the locator on the down-scaled volume."""
    return torch.softmax(run_padded(locator, downscale_image(image, scale), device), dim=0)


def predict_locator(locator: torch.nn.Module, image: np.ndarray, scale: Sequence[float],
                    device: torch.device) -> np.ndarray:
    probs = locator_probabilities(locator, image, scale, device)
    full = F.interpolate(probs[None], size=image.shape[1:], mode="trilinear", align_corners=False)[0]
    return full.argmax(0).numpy()


def largest_component(mask: np.ndarray) -> np.ndarray:
    """The largest 26-connected component of ``mask`` (stray blobs of the locator do not widen the box)."""
    from scipy import ndimage

    labels, n = ndimage.label(mask, structure=np.ones((3, 3, 3), bool))
    if n <= 1:
        return mask
    sizes = np.bincount(labels.ravel())[1:]
    return labels == int(np.argmax(sizes)) + 1


def locate(locator: torch.nn.Module, image: np.ndarray, scale: Sequence[float], buffer: Sequence[int],
           device: torch.device) -> tuple[tuple[tuple[int, int], ...] | None, np.ndarray]:
    """The structure's full-resolution box found by the locator, widened by ``buffer`` (None: nothing found)."""
    low = locator_probabilities(locator, image, scale, device).argmax(0).numpy()
    box = bounding_box(largest_component(low > 0))
    if box is None:
        return None, low
    return add_buffer(scale_box_up(box, scale, image.shape[1:]), buffer, image.shape[1:]), low


@torch.no_grad()
def predict_locate_crop(locator: torch.nn.Module, segmenter: torch.nn.Module, image: np.ndarray,
                        scale: Sequence[float], buffer: Sequence[int], crop_size: Sequence[int],
                        device: torch.device, name: str = "") -> np.ndarray:
    shape = image.shape[1:]
    box, _ = locate(locator, image, scale, buffer, device)
    if box is None:
        log.info("%s: the locator found no structure; cropping around the volume's centre", name)
        box = tuple((s // 2, s // 2 + 1) for s in shape)
    elif any(b[1] - b[0] > c for b, c in zip(box, crop_size, strict=True)):
        log.info("%s: the located box %s is larger than the trained crop %s; the crop keeps its centre",
                 name, box, tuple(crop_size))
    start = place_crop(box, crop_size, shape)
    crop = extract(image, start, crop_size)
    logits = segmenter(torch.from_numpy(np.ascontiguousarray(crop))[None].to(device))[0]
    classes = logits.argmax(0).cpu().numpy().astype(np.int64)
    return paste(classes, start, shape)
