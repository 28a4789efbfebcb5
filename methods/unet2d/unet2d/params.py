"""Parameters of unet2d: defaults (kept equal to method.yaml), checks, and the loss formula.

The harness checks names and types against method.yaml before the run; these
checks repeat the value rules for direct use (``main.py train --params FILE``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from segarena_kit import MethodError, read_params

ENCODERS = ("resnet18", "resnet34", "resnet50", "vgg16")
LOSS_TERMS = ("ce", "focal", "softdice")
AUGMENTATIONS = ("none", "normal", "extreme")
CLASS_MODES = ("all", "lv_myo")
ENCODER_WEIGHTS = ("none", "imagenet")
CHECKPOINTS = ("final", "best")

DEFAULTS: dict[str, Any] = {
    "encoder": "resnet34",
    "encoder_weights": "none",
    "decoder_channels": 256,
    "loss": "ce+softdice",
    "augmentation": "normal",
    "classes": "all",
    "epochs": 8,
    "batch_size": 16,
    "learning_rate": 1e-3,
    "image_size": 128,
    "seed": 0,
    "max_slices_per_epoch": 0,
    "mixed_precision": True,
    "checkpoint": "final",
}

_CHOICES = {"encoder": ENCODERS, "encoder_weights": ENCODER_WEIGHTS, "augmentation": AUGMENTATIONS,
            "classes": CLASS_MODES, "checkpoint": CHECKPOINTS}
_TERM = re.compile(r"^\s*(?:(?P<weight>\d+(?:\.\d*)?|\.\d+)\s*\*\s*)?(?P<name>[a-z_]+)\s*$")


def load_params(path: Path | None) -> dict[str, Any]:
    """Defaults overlaid with the JSON file at ``path`` (``SEGARENA_SEED`` wins over ``seed``), checked."""
    params = read_params(path, DEFAULTS)
    check_params(params)
    return params


def check_params(params: dict[str, Any]) -> None:
    for name, choices in _CHOICES.items():
        if params[name] not in choices:
            raise MethodError(f"params.{name}: {params[name]!r} is not one of {', '.join(choices)}")
    for name in ("epochs", "batch_size", "image_size", "max_slices_per_epoch", "decoder_channels"):
        if not isinstance(params[name], int) or isinstance(params[name], bool) or params[name] < 0:
            raise MethodError(f"params.{name}: expected a non-negative integer, got {params[name]!r}")
    if params["batch_size"] < 1 or params["image_size"] < 32 or params["image_size"] % 32:
        raise MethodError(f"params: batch_size must be >= 1 and image_size a multiple of 32 (the encoder "
                          f"downsamples 5 times); got batch_size {params['batch_size']}, "
                          f"image_size {params['image_size']}")
    if params["decoder_channels"] < 16 or params["decoder_channels"] % 16:
        raise MethodError(f"params.decoder_channels: expected a multiple of 16 >= 16 (it is halved at each of the "
                          f"5 decoder blocks), got {params['decoder_channels']}")
    parse_loss(params["loss"])


def parse_loss(spec: str | dict[str, float]) -> list[tuple[float, str]]:
    """``'ce+softdice'``, ``'0.5*focal + softdice'`` or ``{'ce': 1.0, 'softdice': 1.0}`` → [(weight, term), ...].

    A term without a weight has weight 1. Terms: ce (cross-entropy), focal (softmax focal, gamma 2),
    softdice (soft Dice over the foreground classes).
    """
    expected = (f"expected terms {', '.join(LOSS_TERMS)} joined by '+', each with an optional weight "
                "('ce+softdice', '0.5*focal+softdice'), or a mapping {term: weight}")
    if isinstance(spec, dict):
        pairs = [(value, str(name)) for name, value in spec.items()]
    elif isinstance(spec, str):
        pairs = []
        for part in spec.split("+"):
            match = _TERM.match(part)
            if match is None:
                raise MethodError(f"params.loss: cannot read {part.strip()!r} in {spec!r}; {expected}")
            pairs.append((float(match["weight"] or 1.0), match["name"]))
    else:
        raise MethodError(f"params.loss: {spec!r}; {expected}")
    terms = []
    for weight, name in pairs:
        if name not in LOSS_TERMS:
            raise MethodError(f"params.loss: unknown term {name!r} in {spec!r}; {expected}")
        if isinstance(weight, bool) or not isinstance(weight, (int, float)) or weight < 0:
            raise MethodError(f"params.loss: weight of {name!r} must be a number >= 0, got {weight!r}")
        terms.append((float(weight), name))
    if not terms or sum(w for w, _ in terms) <= 0:
        raise MethodError(f"params.loss: {spec!r} has no term with a positive weight; {expected}")
    return terms
