"""Inference as the authors' deploy script: rescale the volume, pad to a multiple of 16, predict, crop back.

The percentiles are taken per case (one 3D frame of a cine: the deploy script's ED/ES mode; its default
mode takes them over the whole 4D cine, which the common format does not hold in one case).
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk
import torch
from segarena_kit import MethodError
from segarena_kit.common_format import list_cases

from ukbb_fcn.data import label_map_of, pad_to_multiple, read_dataset_json, read_image, rescale_intensity
from ukbb_fcn.labels import LabelMap
from ukbb_fcn.network import UKBBFCN
from ukbb_fcn.params import SIZE_MULTIPLE

log = logging.getLogger("ukbb_fcn")
SLICES_PER_BATCH = 16


@torch.no_grad()
def predict_probabilities(model: torch.nn.Module, volume: np.ndarray, device: torch.device) -> np.ndarray:
    """(Z, 4, Y, X) softmax of a (Z, Y, X) volume already rescaled to [0, 1]."""
    model.eval()
    padded, (top, left, h, w) = pad_to_multiple(volume, SIZE_MULTIPLE)
    x = torch.from_numpy(np.ascontiguousarray(padded, dtype=np.float32))[:, None]
    parts = []
    for start in range(0, len(x), SLICES_PER_BATCH):
        logits = model(x[start : start + SLICES_PER_BATCH].to(device)).float()
        parts.append(torch.softmax(logits, dim=1)[..., top : top + h, left : left + w].cpu())
    return torch.cat(parts).numpy()


def predict_classes(model: torch.nn.Module, image: np.ndarray, device: torch.device) -> np.ndarray:
    """(Z, Y, X) authors' classes of a raw (Z, Y, X) image."""
    return predict_probabilities(model, rescale_intensity(image), device).argmax(1)


def load_trained(model_dir: Path, device: torch.device) -> tuple[UKBBFCN, dict[str, Any]]:
    config_path = model_dir / "config.json"
    try:
        config = json.loads(config_path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MethodError(f"--model {model_dir}: cannot read config.json ({err}); is it a ukbb_fcn training output?") \
            from err
    model = UKBBFCN(int(config["params"]["base_filters"])).to(device)
    model.load_state_dict(torch.load(model_dir / "model.pt", map_location="cpu", weights_only=True))
    model.eval()
    return model, config


def predict_folder(images: Path, model_dir: Path, out: Path, device: torch.device) -> None:
    model, _ = load_trained(model_dir, device)
    meta = read_dataset_json(images)
    label_map: LabelMap = label_map_of(meta, f"--images {images}/dataset.json")
    ending = meta["file_ending"]
    cases = list_cases(images, ending)
    if not cases:
        raise MethodError(f"--images {images}: no images (*_0000{ending}) to predict")
    out.mkdir(parents=True, exist_ok=True)
    for i, case in enumerate(cases):
        array, reference = read_image(images, case, ending)
        mask = label_map.to_values(predict_classes(model, array, device))
        result = sitk.GetImageFromArray(mask[0] if reference.GetDimension() == 2 else mask)
        result.CopyInformation(reference)
        sitk.WriteImage(result, str(out / f"{case}{ending}"), useCompression=True)
        log.info("predicted %s (%d/%d)", case, i + 1, len(cases))
