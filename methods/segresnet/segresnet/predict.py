"""Predict a folder of test images → one label map per case: region probabilities thresholded, then written
back in the regions' order (exactly the dataset's label map for nested regions such as BraTS')."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch
from segarena_kit import MethodError
from segarena_kit.common_format import list_cases, read_dataset_json

from segresnet.data import read_image
from segresnet.model import build_model, predict_probabilities
from segresnet.regions import Regions

log = logging.getLogger("segresnet")


def predict_folder(images: Path, model_dir: Path, out: Path, device: torch.device) -> None:
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MethodError(f"--model {model_dir}: cannot read config.json ({err}); is it a segresnet training "
                          "output?") from err
    params, regions = config["params"], Regions.from_json(config["regions"])
    model = build_model(params, config["in_channels"], len(regions.names))
    model.load_state_dict(torch.load(model_dir / "model.pt", map_location="cpu", weights_only=True))
    model.to(device).eval()
    meta = read_dataset_json(images)
    ending = meta["file_ending"]
    cases = list_cases(images, ending)
    if not cases:
        raise MethodError(f"--images {images}: no images (*_0000{ending}) to predict")
    out.mkdir(parents=True, exist_ok=True)
    for i, case in enumerate(cases):
        image, reference = read_image(images, case, config["in_channels"], ending)
        probs = predict_probabilities(model, image, params, device)
        label = regions.to_label(probs > float(params["threshold"]))
        result = sitk.GetImageFromArray(label.astype(np.uint8))
        result.CopyInformation(reference)
        sitk.WriteImage(result, str(out / f"{case}{ending}"), useCompression=True)
        log.info("predicted %s (%d/%d)", case, i + 1, len(cases))
