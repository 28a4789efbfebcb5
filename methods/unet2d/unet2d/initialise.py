"""Build the U-Net and start its weights: scratch, ImageNet (a local file or the hub), or a fine-tune.

The ``--init DIR`` contract (the harness's transfer regimes): DIR holds
``init.json`` = ``{"kind": "finetune" | "imagenet", "file": NAME}`` and the file NAME,
or ``{"kind": "imagenet"}`` with no file: "use your library's published ImageNet weights",
which unet2d maps to ``encoder_weights: imagenet`` (smp's weights from the hub).

- ``finetune``: NAME is another unet2d job's ``model.pt`` (a full state dict) with its
  ``config.json`` beside it. Every tensor that fits is loaded. A different encoder is
  refused. The segmentation head is loaded when the base's classes equal ours,
  re-ordered when they are the same classes in another order, and left at random
  init (logged) otherwise.
- ``imagenet``: NAME is an ImageNet encoder state dict with torchvision/timm keys
  (``conv1.weight``, ``layer1.0.conv1.weight``, ``features.0.weight``; ``fc.*`` and
  ``classifier.*`` are dropped). It is loaded into the smp encoder; a 3-channel first
  convolution is adapted to our input channels the way smp does it (summed for one
  channel). No matching tensor at all is an error.

Without ``--init``, ``encoder_weights: imagenet`` asks smp for its published weights
(needs the hub; offline this fails fast with a message to give a local file instead).
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import torch
from segarena_kit import MethodError
from segarena_kit.common_format import read_init_json

log = logging.getLogger("unet2d")

HEAD = "segmentation_head."
CLASSIFIER_PREFIXES = ("fc.", "classifier.", "head.", "last_linear.", "head_", "global_pool.")


def decoder_widths(first: int) -> tuple[int, ...]:
    """The five decoder blocks' channels: ``first`` halved at each block (256 → smp's 256, 128, 64, 32, 16)."""
    return tuple(first >> i for i in range(5))


def build_model(encoder: str, in_channels: int, classes: int, encoder_weights: str | None = None,
                decoder_channels: int = 256) -> torch.nn.Module:
    import segmentation_models_pytorch as smp

    return smp.Unet(encoder_name=encoder, encoder_weights=encoder_weights, in_channels=in_channels, classes=classes,
                    decoder_channels=decoder_widths(decoder_channels))


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def create_model(params: dict[str, Any], in_channels: int, class_names: list[str],
                 init_dir: Path | None) -> tuple[torch.nn.Module, dict[str, Any]]:
    """The model and a record of what it started from (written into config.json as ``init``)."""
    encoder, classes, decoder = params["encoder"], len(class_names), int(params["decoder_channels"])
    if init_dir is not None:
        kind, path = read_init_json(init_dir)
        if path is None:  # imagenet with no file: the library's published weights
            log.info("--init %s: imagenet without a file, so smp's published weights (encoder_weights: imagenet)",
                     init_dir)
            return download_imagenet(encoder, in_channels, classes, decoder)
        if params["encoder_weights"] == "imagenet":
            log.info("--init %s given: it wins over encoder_weights: imagenet (no download)", init_dir)
        model = build_model(encoder, in_channels, classes, decoder_channels=decoder)
        if kind == "finetune":
            record = load_finetune(model, path, params, class_names)
        else:
            record = load_imagenet_file(model, path, encoder)
        return model, {"kind": kind, "file": path.name, "sha256": sha256_file(path), **record}
    if params["encoder_weights"] == "imagenet":
        return download_imagenet(encoder, in_channels, classes, decoder)
    return build_model(encoder, in_channels, classes, decoder_channels=decoder), {"kind": "scratch"}


def _load_tensors(path: Path) -> dict[str, torch.Tensor]:
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


def _class_names_of(config: dict[str, Any]) -> list[str] | None:
    if isinstance(config.get("class_names"), list):
        return [str(n) for n in config["class_names"]]
    if isinstance(config.get("labels"), dict):  # a config.json written before class_names existed
        return [n for n, _ in sorted(config["labels"].items(), key=lambda item: int(item[1]))]
    return None


def load_finetune(model: torch.nn.Module, path: Path, params: dict[str, Any],
                  class_names: list[str]) -> dict[str, Any]:
    encoder = params["encoder"]
    config_path = path.parent / "config.json"
    base_config: dict[str, Any] = json.loads(config_path.read_text()) if config_path.is_file() else {}
    base_encoder = base_config.get("params", {}).get("encoder")
    if base_encoder is not None and base_encoder != encoder:
        raise MethodError(f"--init finetune: the base model {path} has encoder {base_encoder}, this job has encoder "
                          f"{encoder}; a fine-tune needs the same encoder: set encoder: {base_encoder} "
                          f"(or fine-tune from a base model trained with {encoder})")
    state = _load_tensors(path)
    own = model.state_dict()
    own_encoder = {k for k in own if k.startswith("encoder.")}
    file_encoder = {k for k in state if k.startswith("encoder.")}
    if own_encoder != file_encoder:
        raise MethodError(f"--init finetune: the weights in {path} do not fit a {encoder} encoder "
                          f"({len(own_encoder - file_encoder)} of its {len(own_encoder)} encoder tensors are missing "
                          f"from the file, {len(file_encoder - own_encoder)} in the file are unknown); a fine-tune "
                          f"needs a unet2d model.pt trained with encoder: {encoder}")
    base_names = _class_names_of(base_config)
    head = "loaded"
    if base_names is not None and base_names != class_names:
        if sorted(base_names) == sorted(class_names):
            order = [base_names.index(name) for name in class_names]
            state = {k: (v[order] if k.startswith(HEAD) else v) for k, v in state.items()}
            head = "re-ordered"
        else:
            state = {k: v for k, v in state.items() if not k.startswith(HEAD)}
            head = "random init"
    loadable = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    skipped = sorted(k for k in own if k not in loadable)
    if head == "loaded" and any(k.startswith(HEAD) for k in skipped):
        head = "random init"
    model.load_state_dict(loadable, strict=False)
    if head == "random init":
        log.info("fine-tune: the base model's classes %s differ from this job's %s: segmentation head left at "
                 "random init, everything else loaded", base_names, class_names)
    elif head == "re-ordered":
        log.info("fine-tune: segmentation head re-ordered from the base's classes %s to %s", base_names, class_names)
    log.info("fine-tune: loaded %d of %d tensors from %s%s", len(loadable), len(own), path,
             f"; not loaded: {', '.join(skipped[:6])}{' ...' if len(skipped) > 6 else ''}" if skipped else "")
    return {"base_encoder": base_encoder or encoder, "base_classes": base_names, "head": head,
            "loaded_tensors": len(loadable), "model_tensors": len(own), "not_loaded": skipped}


def _adapt_first_conv(weight: torch.Tensor, target_shape: torch.Size) -> torch.Tensor | None:
    """A pretrained 3-channel first convolution for ``target_shape[1]`` input channels (smp's rule)."""
    if weight.ndim != 4 or weight.shape[1] != 3 or weight.shape[0] != target_shape[0] \
            or weight.shape[2:] != target_shape[2:]:
        return None
    channels = target_shape[1]
    if channels == 1:
        return weight.sum(1, keepdim=True)
    return torch.stack([weight[:, i % 3] for i in range(channels)], 1) * (3 / channels)


def load_imagenet_file(model: torch.nn.Module, path: Path, encoder: str) -> dict[str, Any]:
    state = _load_tensors(path)
    if state and all(k.startswith("encoder.") for k in state):
        state = {k.removeprefix("encoder."): v for k, v in state.items()}
    state = {k: v for k, v in state.items() if not k.startswith(CLASSIFIER_PREFIXES)}
    encoder_module: torch.nn.Module = model.encoder  # type: ignore[assignment]
    own = encoder_module.state_dict()
    loadable: dict[str, torch.Tensor] = {}
    adapted: list[str] = []
    for key, value in state.items():
        if key not in own:
            continue
        if own[key].shape != value.shape:
            patched = _adapt_first_conv(value, own[key].shape)
            if patched is None:
                continue
            adapted.append(key)
            value = patched
        loadable[key] = value
    if not loadable:
        raise MethodError(f"--init imagenet: none of the {len(state)} tensors in {path} fit the {encoder} encoder "
                          f"(file keys such as {', '.join(list(state)[:3])}; the encoder expects "
                          f"{', '.join(list(own)[:3])}, ...); give the ImageNet state dict of a {encoder} "
                          f"(torchvision or timm keys)")
    encoder_module.load_state_dict(loadable, strict=False)
    missing = sorted(set(own) - set(loadable))
    log.info("imagenet: loaded %d of the %d %s encoder tensors from %s%s%s", len(loadable), len(own), encoder,
             path, f" (first conv adapted: {', '.join(adapted)})" if adapted else "",
             f"; not loaded: {', '.join(missing[:6])}{' ...' if len(missing) > 6 else ''}" if missing else "")
    return {"loaded_tensors": len(loadable), "encoder_tensors": len(own), "adapted": adapted, "not_loaded": missing}


def download_imagenet(encoder: str, in_channels: int, classes: int,
                      decoder_channels: int = 256) -> tuple[torch.nn.Module, dict[str, Any]]:
    from segmentation_models_pytorch.encoders import encoders

    settings = encoders[encoder]["pretrained_settings"]["imagenet"]
    try:
        model = build_model(encoder, in_channels, classes, "imagenet", decoder_channels)
    except Exception as err:  # the hub client raises OSError offline, HTTP/connection errors online
        first_line = (str(err).strip().splitlines() or [""])[0]
        raise MethodError(
            f"encoder_weights: imagenet: could not get the published ImageNet weights of {encoder} "
            f"({settings['repo_id']}) from the model hub ({type(err).__name__}: {first_line}). "
            f"Offline, give a local weights file instead: a regime with `init: imagenet` and "
            f"`weights: /path/to/{encoder}_imagenet.pth` (a torchvision or timm state dict), "
            f"which reaches the method through --init", exit_code=2) from err
    log.info("imagenet: %s encoder weights from the hub (%s)", encoder, settings["repo_id"])
    return model, {"kind": "imagenet", "source": "hub", "repo_id": settings["repo_id"],
                   "revision": settings.get("revision")}
