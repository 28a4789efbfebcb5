"""Inference: one case's class map at its own resolution, and a folder of images → label files."""

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

from fcn.data import letterbox, read_dataset_json, read_image, to_network_input
from fcn.networks import build_network

log = logging.getLogger("fcn")
SLICES_PER_BATCH = 16


@torch.no_grad()
def predict_classes(model: torch.nn.Module, image: np.ndarray, size: int, rgb: bool,
                    device: torch.device) -> np.ndarray:
    """(Z, Y, X) class indices of a (Z, Y, X) image in [0, 1]: letterbox, infer, undo the letterbox."""
    x = torch.from_numpy(image)[:, None]
    h, w = x.shape[-2:]
    boxed, (top, left, nh, nw) = letterbox(x, size, "bilinear")
    parts = []
    for start in range(0, len(boxed), SLICES_PER_BATCH):
        logits = model(to_network_input(boxed[start : start + SLICES_PER_BATCH], rgb).to(device)).float()
        logits = logits[..., top : top + nh, left : left + nw]
        parts.append(F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False).argmax(1).cpu())
    return torch.cat(parts).numpy()


def load_trained(model_dir: Path, device: torch.device) -> tuple[torch.nn.Module, dict[str, Any]]:
    config_path = model_dir / "config.json"
    try:
        config = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MethodError(f"--model {model_dir}: cannot read config.json ({err}); is it an fcn training output?") \
            from err
    params = config["params"]
    model = build_network(params["arch"], 3 if config["rgb"] else 1, len(config["class_values"]),
                          int(params["fc_channels"]), float(params["dropout"])).to(device)
    model.load_state_dict(torch.load(model_dir / "model.pt", map_location="cpu", weights_only=True))
    model.eval()
    return model, config


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
        classes = predict_classes(model, image, int(config["params"]["image_size"]), bool(config["rgb"]), device)
        mask = values[classes]
        result = sitk.GetImageFromArray(mask[0] if reference.GetDimension() == 2 else mask)
        result.CopyInformation(reference)
        sitk.WriteImage(result, str(out / f"{case}{ending}"), useCompression=True)
        log.info("predicted %s (%d/%d)", case, i + 1, len(cases))
