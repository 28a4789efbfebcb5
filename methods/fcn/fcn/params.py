"""Parameters of fcn: defaults (kept equal to method.yaml) and their checks.

The harness checks names and types against method.yaml before the run; these
checks repeat the value rules for direct use (``main.py train --params FILE``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segarena_kit import MethodError, read_params

DEFAULTS: dict[str, Any] = {
    "arch": "fcn8s",
    "loss": "ce",
    "augmentation": "none",
    "rgb": "auto",
    "fc_channels": 4096,
    "dropout": 0.5,
    "optimizer": "adam",
    "learning_rate": 1e-4,
    "epochs": 30,
    "batch_size": 8,
    "image_size": 256,
    "max_slices_per_epoch": 0,
    "seed": 0,
}
CHOICES: dict[str, tuple[str, ...]] = {
    "arch": ("fcn_alexnet", "fcn8s"),
    "loss": ("ce", "dice"),
    "augmentation": ("none", "digits"),
    "rgb": ("auto", "always", "never"),
    "optimizer": ("adam", "sgd"),
}
INTEGERS = ("fc_channels", "epochs", "batch_size", "image_size", "max_slices_per_epoch", "seed")


def load_params(path: Path | None) -> dict[str, Any]:
    """Defaults overlaid with the JSON file at ``path`` (``SEGARENA_SEED`` wins over ``seed``), checked."""
    params = read_params(path, DEFAULTS)
    check_params(params)
    return params


def check_params(params: dict[str, Any]) -> None:
    for name, choices in CHOICES.items():
        if params[name] not in choices:
            raise MethodError(f"params.{name}: {params[name]!r} is not one of {', '.join(choices)}")
    for name in INTEGERS:
        if not isinstance(params[name], int) or isinstance(params[name], bool) or params[name] < 0:
            raise MethodError(f"params.{name}: expected a non-negative integer, got {params[name]!r}")
    if params["batch_size"] < 1 or params["image_size"] < 32 or params["image_size"] % 32:
        raise MethodError(f"params: batch_size must be >= 1 and image_size a multiple of 32 (the networks "
                          f"downsample 32 times); got batch_size {params['batch_size']}, "
                          f"image_size {params['image_size']}")
    if params["fc_channels"] < 16:
        raise MethodError(f"params.fc_channels: expected >= 16, got {params['fc_channels']}")
    for name in ("dropout", "learning_rate"):
        if isinstance(params[name], bool) or not isinstance(params[name], (int, float)):
            raise MethodError(f"params.{name}: expected a number, got {params[name]!r}")
    if not 0.0 <= float(params["dropout"]) < 1.0:
        raise MethodError(f"params.dropout: expected 0 <= dropout < 1, got {params['dropout']}")
    if float(params["learning_rate"]) <= 0:
        raise MethodError(f"params.learning_rate: expected > 0, got {params['learning_rate']}")
