"""MONAI's SegResNet / SegResNetVAE from the params, fine-tuning from a weights file, sliding-window inference."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import torch
from segarena_kit import MethodError

log = logging.getLogger("segresnet")


def build_model(params: dict[str, Any], in_channels: int, out_channels: int) -> torch.nn.Module:
    from monai.networks.nets import SegResNet, SegResNetVAE

    common = {"spatial_dims": 3, "init_filters": int(params["init_filters"]), "in_channels": in_channels,
              "out_channels": out_channels, "dropout_prob": float(params["dropout"]) or None,
              "blocks_down": tuple(params["blocks_down"]), "blocks_up": tuple(params["blocks_up"])}
    if params["vae"]:
        return SegResNetVAE(input_image_size=tuple(int(r) for r in params["roi_size"]), **common)
    return SegResNet(**common)


def logits_of(model: torch.nn.Module, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(logits, VAE loss or None): SegResNetVAE returns a pair, SegResNet the logits."""
    out = model(x)
    if isinstance(out, tuple):
        return out[0], out[1]
    return out, None


def load_init(init: Path | None, model: torch.nn.Module) -> dict[str, Any] | None:
    """Start from ``init``'s weights (init.json ``kind: finetune``). Tensors of another shape, such as an output
    head with another number of regions, keep their fresh initialisation, and the log says which."""
    if init is None:
        return None
    try:
        record = json.loads((init / "init.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MethodError(f"--init {init}: cannot read init.json ({err})") from err
    if not record.get("file"):
        raise MethodError(f"--init {init}: init.json {record} names no weights file; segresnet has no published "
                          "weights to fall back to (give a model.pt of an earlier training)")
    path = init / str(record["file"])
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - an unreadable weights file is the user's input error
        raise MethodError(f"--init {path}: cannot read a PyTorch state dict ({err})") from err
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise MethodError(f"--init {path}: expected a state dict (name -> tensor), got {type(state).__name__}")
    own = model.state_dict()
    kept = {k: v for k, v in state.items() if k in own and hasattr(v, "shape") and own[k].shape == v.shape}
    if not kept:
        raise MethodError(f"--init {path}: none of its {len(state)} tensors fits this SegResNet (other "
                          "init_filters or blocks?)")
    reinitialised = sorted(k for k in own if k not in kept)
    model.load_state_dict({**own, **kept})
    log.info("fine-tune: %d of %d tensors loaded from %s", len(kept), len(own), path.name)
    if reinitialised:
        log.info("fine-tune: re-initialised (another shape in %s, e.g. a head with another number of regions, or "
                 "absent): %s", path.name, ", ".join(reinitialised))
    return {"kind": record.get("kind"), "file": path.name, "loaded": len(kept), "reinitialised": reinitialised}


@torch.no_grad()
def predict_probabilities(model: torch.nn.Module, image: np.ndarray, params: dict[str, Any],
                          device: torch.device) -> np.ndarray:
    """(R, D, H, W) sigmoid probabilities of a (C, D, H, W) volume by sliding windows of ``roi_size``."""
    from monai.inferers import sliding_window_inference

    model.eval()
    x = torch.from_numpy(np.ascontiguousarray(image))[None].to(device)
    use_amp = bool(params["mixed_precision"]) and device.type == "cuda"
    with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=use_amp):
        logits = sliding_window_inference(x, roi_size=tuple(int(r) for r in params["roi_size"]), sw_batch_size=1,
                                          predictor=lambda patch: logits_of(model, patch)[0],
                                          overlap=float(params["sw_overlap"]), mode="gaussian",
                                          device=torch.device("cpu"))
    return torch.sigmoid(logits.float())[0].numpy()
