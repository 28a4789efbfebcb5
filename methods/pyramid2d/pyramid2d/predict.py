"""Inference: stage 2's probabilities resized back to each slice's own size, argmax → label values."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk
import torch
import torch.nn.functional as F
from segarena_kit import MethodError
from segarena_kit.common_format import list_cases

from pyramid2d.data import read_dataset_json, read_image, resize_images
from pyramid2d.network import MultiScalePyramid

log = logging.getLogger("pyramid2d")
SLICES_PER_BATCH = 8


@torch.no_grad()
def predict_classes(model: torch.nn.Module, image: np.ndarray, size: int, device: torch.device) -> np.ndarray:
    """(Z, Y, X) class indices of a (Z, Y, X) [0, 1] image."""
    x = torch.from_numpy(image)[:, None]
    h, w = x.shape[-2:]
    parts = []
    for start in range(0, len(x), SLICES_PER_BATCH):
        probabilities = model(resize_images(x[start : start + SLICES_PER_BATCH], size).to(device)).float()
        parts.append(F.interpolate(probabilities, size=(h, w), mode="bilinear", align_corners=False).argmax(1).cpu())
    return torch.cat(parts).numpy()


def load_trained(model_dir: Path, device: torch.device) -> tuple[torch.nn.Module, dict[str, Any]]:
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MethodError(f"--model {model_dir}: cannot read config.json ({err}); is it a pyramid2d training "
                          "output?") from err
    params = config["params"]
    model = MultiScalePyramid(len(config["class_values"]), int(params["base_channels"]), float(params["dropout"]))
    model.load_state_dict(torch.load(model_dir / "model.pt", map_location="cpu", weights_only=True))
    return model.to(device).eval(), config


def predict_folder(images: Path, model_dir: Path, out: Path, device: torch.device) -> None:
    model, config = load_trained(model_dir, device)
    values = np.asarray(config["class_values"], dtype=np.uint8)
    ending = read_dataset_json(images)["file_ending"]
    cases = list_cases(images, ending)
    if not cases:
        raise MethodError(f"--images {images}: no images (*_0000{ending}) to predict")
    out.mkdir(parents=True, exist_ok=True)
    for i, case in enumerate(cases):
        image, reference = read_image(images, case, ending)
        mask = values[predict_classes(model, image, int(config["params"]["image_size"]), device)]
        result = sitk.GetImageFromArray(mask[0] if reference.GetDimension() == 2 else mask)
        result.CopyInformation(reference)
        sitk.WriteImage(result, str(out / f"{case}{ending}"), useCompression=True)
        log.info("predicted %s (%d/%d)", case, i + 1, len(cases))
