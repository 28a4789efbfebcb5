"""Inference: one case's class map at its own resolution, and a folder of images → label files.

Predict loads the checkpoint named by config.json's ``predict_checkpoint``
(``model.pt``, the final weights, unless the job was trained with
``checkpoint: best`` and a validation split, then ``model_best.pt``).
"""

from __future__ import annotations

import contextlib
import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk
import torch
import torch.nn.functional as F
from segarena_kit import MethodError
from segarena_kit.common_format import list_cases, read_dataset_json

from unet2d.data import ClassMap, letterbox, read_case_channels
from unet2d.initialise import build_model

log = logging.getLogger("unet2d")
SLICES_PER_BATCH = 32


def autocast(device: torch.device, enabled: bool) -> contextlib.AbstractContextManager[Any]:
    """float16 autocast on CUDA when ``enabled``; a no-op on CPU (mixed precision is GPU only)."""
    if device.type == "cuda" and enabled:
        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


@torch.no_grad()
def predict_classes(model: torch.nn.Module, image: np.ndarray, size: int, device: torch.device,
                    mixed_precision: bool = False) -> np.ndarray:
    """(Z, Y, X) class indices of a (C, Z, Y, X) normalised image: letterbox, infer, undo the letterbox."""
    x = torch.from_numpy(image).permute(1, 0, 2, 3)
    h, w = x.shape[-2:]
    boxed, (top, left, nh, nw) = letterbox(x, size, "bilinear")
    parts = []
    for start in range(0, len(boxed), SLICES_PER_BATCH):
        with autocast(device, mixed_precision):
            logits = model(boxed[start : start + SLICES_PER_BATCH].to(device))
        logits = logits.float()[..., top : top + nh, left : left + nw]
        parts.append(F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False).argmax(1).cpu())
    return torch.cat(parts).numpy()


def load_trained(model_dir: Path, device: torch.device) -> tuple[torch.nn.Module, dict[str, Any]]:
    config_path = model_dir / "config.json"
    try:
        config = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MethodError(f"--model {model_dir}: cannot read config.json ({err}); is it a unet2d training output?") \
            from err
    checkpoint = model_dir / config.get("predict_checkpoint", "model.pt")
    # A config.json written before decoder_channels existed had smp's default decoder (256).
    model = build_model(config["params"]["encoder"], config["in_channels"], config["classes"],
                        decoder_channels=int(config["params"].get("decoder_channels", 256))).to(device)
    model.load_state_dict(torch.load(checkpoint, map_location="cpu", weights_only=True))
    model.eval()
    return model, config


def predict_folder(images: Path, model_dir: Path, out: Path, device: torch.device) -> None:
    model, config = load_trained(model_dir, device)
    params = config["params"]
    class_map = (ClassMap(config["class_mode"], tuple(config["class_names"]), tuple(config["class_values"]))
                 if "class_values" in config else ClassMap.from_labels(config["labels"], "all"))
    meta = read_dataset_json(images)
    ending = meta["file_ending"]
    out.mkdir(parents=True, exist_ok=True)
    cases = list_cases(images, ending)
    if not cases:
        raise MethodError(f"--images {images}: no images (*_0000{ending}) to predict")
    for i, case in enumerate(cases):
        image, reference = read_case_channels(images, case, config["in_channels"], ending)
        classes = predict_classes(model, image, int(params["image_size"]), device, bool(params.get("mixed_precision", False)))
        mask = class_map.to_values(classes)
        result = sitk.GetImageFromArray(mask[0] if reference.GetDimension() == 2 else mask)
        result.CopyInformation(reference)
        sitk.WriteImage(result, str(out / f"{case}{ending}"), useCompression=True)
        log.info("predicted %s (%d/%d)", case, i + 1, len(cases))
