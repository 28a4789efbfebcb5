"""Predict a folder of test images with a trained vnet model → one label map per case, the image's geometry."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk
import torch
from segarena_kit import MethodError
from segarena_kit.common_format import list_cases, read_dataset_json

from vnet.data import read_image
from vnet.inference import predict_direct, predict_locate_crop, predict_locator
from vnet.network import VNet, build_vnet

log = logging.getLogger("vnet")


def load_model(model_dir: Path, device: torch.device) -> tuple[dict[str, Any], VNet | None, VNet | None]:
    """(config, locator, segmenter) of a training output; a network the pipeline does not use is None."""
    try:
        config = json.loads((model_dir / "config.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MethodError(f"--model {model_dir}: cannot read config.json ({err}); is it a vnet training output?") \
            from err
    params, pipeline = config["params"], config["params"]["pipeline"]
    locator = segmenter = None
    if pipeline in ("locator", "locate_crop"):
        locator = VNet(config["in_channels"], config["n_classes"], int(params["locator_base_filters"]),
                       int(params["num_layers"]), str(params["norm"]))
        locator.load_state_dict(torch.load(model_dir / "locator.pt", map_location="cpu", weights_only=True))
        locator.to(device).eval()
    if pipeline in ("direct", "locate_crop"):
        segmenter = build_vnet(params, config["in_channels"], config["n_classes"])
        segmenter.load_state_dict(torch.load(model_dir / "model.pt", map_location="cpu", weights_only=True))
        segmenter.to(device).eval()
    return config, locator, segmenter


def predict_case(config: dict[str, Any], locator: VNet | None, segmenter: VNet | None, image: np.ndarray,
                 device: torch.device, name: str = "") -> np.ndarray:
    """(D, H, W) class indices of a normalised (C, D, H, W) volume."""
    params = config["params"]
    scale = [float(s) for s in params["locator_scale"]]
    if params["pipeline"] == "direct":
        assert segmenter is not None
        return predict_direct(segmenter, image, params["patch_size"], device)
    assert locator is not None
    if params["pipeline"] == "locator":
        return predict_locator(locator, image, scale, device)
    assert segmenter is not None
    return predict_locate_crop(locator, segmenter, image, scale, params["crop_buffer"], config["crop_size"], device,
                               name)


def predict_folder(images: Path, model_dir: Path, out: Path, device: torch.device) -> None:
    config, locator, segmenter = load_model(model_dir, device)
    meta = read_dataset_json(images)
    ending = meta["file_ending"]
    cases = list_cases(images, ending)
    if not cases:
        raise MethodError(f"--images {images}: no images (*_0000{ending}) to predict")
    values = np.asarray(config["label_values"], dtype=np.uint8)
    out.mkdir(parents=True, exist_ok=True)
    for i, case in enumerate(cases):
        image, reference = read_image(images, case, config["in_channels"], ending)
        classes = predict_case(config, locator, segmenter, image, device, case)
        result = sitk.GetImageFromArray(values[classes])
        result.CopyInformation(reference)
        sitk.WriteImage(result, str(out / f"{case}{ending}"), useCompression=True)
        log.info("predicted %s (%d/%d)", case, i + 1, len(cases))
