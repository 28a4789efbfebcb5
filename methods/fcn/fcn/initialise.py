"""Build the network and start its weights: scratch, an ImageNet state dict (a local file), or a fine-tune.

The ``--init DIR`` contract (the harness's transfer regimes): DIR holds
``init.json`` = ``{"kind": "imagenet" | "finetune", "file": NAME}`` and the file NAME.

- ``imagenet``: NAME is torchvision's ImageNet classifier state dict of the backbone:
  ``alexnet`` for ``fcn_alexnet`` (``features.{0,3,6,8,10}``, ``classifier.{1,4,6}``), ``vgg16``
  for ``fcn8s`` (``features.0`` … ``features.28``, ``classifier.{0,3,6}``). Every backbone
  convolution must load (else an error names the tensors that did not fit); fc6 / fc7 are the
  classifier's first two Linear layers reshaped into convolutions (loaded when ``fc_channels``
  is 4096, left at random init otherwise, as logged); the 1000-class layer is dropped. With a
  grayscale input (``rgb: never``) the first convolution is summed over its RGB axis.
- ``finetune``: NAME is another fcn job's ``model.pt`` with its ``config.json`` beside it:
  the same ``arch`` is required; every tensor whose shape fits is loaded.

``{"kind": "imagenet"}`` without a file would mean "download the published weights":
fcn has none to download, so it fails and says how to give a local file.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch
from segarena_kit import MethodError, common_format

from fcn.networks import build_network

log = logging.getLogger("fcn")

# torchvision classifier index of fc6 / fc7 and their convolution kernels, per architecture
CLASSIFIER = {"fcn_alexnet": ("classifier.1", "classifier.4", 256, 6, "alexnet"),
              "fcn8s": ("classifier.0", "classifier.3", 512, 7, "vgg16")}


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_tensors(path: Path) -> dict[str, torch.Tensor]:
    try:
        raw = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises many types for a file that is not a checkpoint
        raise MethodError(f"--init: cannot read {path} as a torch state dict ({type(err).__name__}: {err})") from err
    for wrapper in ("state_dict", "model", "model_state_dict"):
        if isinstance(raw, dict) and isinstance(raw.get(wrapper), dict):
            raw = raw[wrapper]
    if not isinstance(raw, dict):
        raise MethodError(f"--init: {path} holds a {type(raw).__name__}, not a state dict of tensors")
    tensors = {str(k).removeprefix("module."): v for k, v in raw.items() if isinstance(v, torch.Tensor)}
    if not tensors:
        raise MethodError(f"--init: {path} holds no tensors")
    return tensors


def imagenet_state(state: dict[str, torch.Tensor], own: dict[str, torch.Tensor], arch: str
                   ) -> tuple[dict[str, torch.Tensor], list[str]]:
    """torchvision classifier keys → this network's keys (fc layers as convolutions); the notes on what was adapted."""
    fc6_key, fc7_key, fc6_in, kernel, _ = CLASSIFIER[arch]
    mapped: dict[str, torch.Tensor] = {}
    notes: list[str] = []
    for key, value in state.items():
        if key.startswith("features."):
            target = own.get(key)
            if target is not None and target.shape != value.shape and value.ndim == 4 and value.shape[1] == 3 \
                    and target.shape[1] == 1 and value.shape[0] == target.shape[0]:
                value = value.sum(1, keepdim=True)  # grayscale input: the RGB filters summed
                notes.append(f"{key} summed over RGB for one input channel")
            mapped[key] = value
    for source, target_prefix, shape in ((fc6_key, "head.fc6", (fc6_in, kernel, kernel)), (fc7_key, "head.fc7", (-1, 1, 1))):
        weight, bias = state.get(f"{source}.weight"), state.get(f"{source}.bias")
        if weight is None or bias is None or weight.ndim != 2:
            continue
        width = weight.shape[0]
        in_shape = shape if shape[0] != -1 else (weight.shape[1], 1, 1)
        if weight.shape[1] != in_shape[0] * in_shape[1] * in_shape[2]:
            continue
        mapped[f"{target_prefix}.weight"] = weight.reshape(width, *in_shape)
        mapped[f"{target_prefix}.bias"] = bias
    return mapped, notes


def load_imagenet(model: torch.nn.Module, path: Path, arch: str) -> dict[str, Any]:
    backbone = CLASSIFIER[arch][4]
    own = model.state_dict()
    mapped, notes = imagenet_state(load_tensors(path), own, arch)
    loadable = {k: v for k, v in mapped.items() if k in own and own[k].shape == v.shape}
    backbone_keys = sorted(k for k in own if k.startswith("features."))
    missing_backbone = [k for k in backbone_keys if k not in loadable]
    if missing_backbone:
        shapes = ", ".join(f"{k} {tuple(own[k].shape)} (file: {tuple(mapped[k].shape) if k in mapped else 'absent'})"
                           for k in missing_backbone[:4])
        raise MethodError(f"--init imagenet: {path} does not fit the {backbone} backbone of arch {arch}: "
                          f"{len(missing_backbone)} of its {len(backbone_keys)} tensors do not load ({shapes}"
                          f"{' ...' if len(missing_backbone) > 4 else ''}); give torchvision's ImageNet "
                          f"{backbone} state dict (torchvision.models.{backbone}().state_dict() keys)")
    model.load_state_dict(loadable, strict=False)
    fc_loaded = sorted(k for k in loadable if k.startswith("head."))
    not_loaded = sorted(k for k in own if k not in loadable)
    if not fc_loaded:
        log.info("imagenet: fc6 / fc7 not loaded (this network's fc_channels differ from the file's 4096, or the "
                 "file has no classifier): left at random init")
    log.info("imagenet: loaded %d of %d tensors from %s (%s backbone%s)%s", len(loadable), len(own), path, backbone,
             ", fc6 / fc7" if fc_loaded else "", f"; {'; '.join(notes)}" if notes else "")
    return {"loaded_tensors": len(loadable), "model_tensors": len(own), "fc_loaded": bool(fc_loaded),
            "adapted": notes, "not_loaded": not_loaded}


def load_finetune(model: torch.nn.Module, path: Path, arch: str) -> dict[str, Any]:
    config_path = path.parent / "config.json"
    base: dict[str, Any] = json.loads(config_path.read_text()) if config_path.is_file() else {}
    base_arch = base.get("params", {}).get("arch")
    if base_arch is not None and base_arch != arch:
        raise MethodError(f"--init finetune: the base model {path} is arch {base_arch}, this job is {arch}; "
                          f"a fine-tune needs the same arch: set arch: {base_arch}")
    own = model.state_dict()
    state = load_tensors(path)
    loadable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    if not any(k.startswith("features.") for k in loadable):
        raise MethodError(f"--init finetune: none of the backbone tensors in {path} fit arch {arch}; "
                          "a fine-tune needs an fcn model.pt of the same arch")
    model.load_state_dict(loadable, strict=False)
    skipped = sorted(k for k in own if k not in loadable)
    log.info("fine-tune: loaded %d of %d tensors from %s%s", len(loadable), len(own), path,
             f"; left at random init: {', '.join(skipped)}" if skipped else "")
    return {"loaded_tensors": len(loadable), "model_tensors": len(own), "not_loaded": skipped}


def read_init_json(folder: Path) -> tuple[str, Path]:
    kind, path = common_format.read_init_json(folder, without_file=(
        "imagenet without a file asks for published weights, which fcn cannot download; give torchvision's "
        "ImageNet state dict of the backbone (alexnet for arch fcn_alexnet, vgg16 for fcn8s) as the regime's "
        "`weights:` file"))
    assert path is not None
    return kind, path


def create_model(params: dict[str, Any], classes: int, init_dir: Path | None
                 ) -> tuple[torch.nn.Module, dict[str, Any], bool]:
    """The network, a record of what its weights started from, and whether it reads 3 channels."""
    arch = params["arch"]
    kind, path = read_init_json(init_dir) if init_dir is not None else ("scratch", None)
    rgb = params["rgb"] == "always" or (params["rgb"] == "auto" and kind == "imagenet")
    if params["rgb"] == "auto" and kind == "finetune" and path is not None:  # follow the base model's input
        config_path = path.parent / "config.json"
        rgb = bool(json.loads(config_path.read_text()).get("rgb", False)) if config_path.is_file() else False
    model = build_network(arch, 3 if rgb else 1, classes, int(params["fc_channels"]), float(params["dropout"]))
    if path is None:
        return model, {"kind": "scratch"}, rgb
    record = load_imagenet(model, path, arch) if kind == "imagenet" else load_finetune(model, path, arch)
    return model, {"kind": kind, "file": path.name, "sha256": sha256_file(path), **record}, rgb
