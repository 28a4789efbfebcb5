"""Parameters of pyramid2d: defaults (kept equal to method.yaml) and their checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segarena_kit import MethodError, read_params

DEFAULTS: dict[str, Any] = {
    "image_size": 256, "base_channels": 16, "dropout": 0.3, "epochs": 500, "batch_size": 5,
    "learning_rate": 1e-4, "lr_milestones": "1000", "lr_gamma": 0.1, "checkpoint_every": 100,
    "rotation_prob": 0.5, "rotation_deg": 5.0, "warp_prob": 0.5, "warp_min": 0.8,
    "crop_prob": 0.5, "crop_min": 0.5, "crop_max": 0.8, "seed": 0,
}
INTEGERS = ("image_size", "base_channels", "epochs", "batch_size", "checkpoint_every", "seed")
FRACTIONS = ("dropout", "lr_gamma", "rotation_prob", "warp_prob", "crop_prob", "warp_min", "crop_min", "crop_max")


def load_params(path: Path | None) -> dict[str, Any]:
    """Defaults overlaid with the JSON file at ``path`` (``SEGARENA_SEED`` wins over ``seed``), checked."""
    params = read_params(path, DEFAULTS)
    check_params(params)
    return params


def milestones(params: dict[str, Any]) -> list[int]:
    return sorted(int(v) for v in str(params["lr_milestones"]).split(",") if v.strip())


def check_params(params: dict[str, Any]) -> None:
    for name in INTEGERS:
        if not isinstance(params[name], int) or isinstance(params[name], bool) or params[name] < 0:
            raise MethodError(f"params.{name}: expected a non-negative integer, got {params[name]!r}")
    for name in (*FRACTIONS, "learning_rate", "rotation_deg"):
        if isinstance(params[name], bool) or not isinstance(params[name], (int, float)):
            raise MethodError(f"params.{name}: expected a number, got {params[name]!r}")
    for name in FRACTIONS:
        if not 0.0 <= float(params[name]) <= 1.0:
            raise MethodError(f"params.{name}: expected a value in [0, 1], got {params[name]}")
    if params["image_size"] < 32 or params["image_size"] % 16:
        raise MethodError(f"params.image_size: expected a multiple of 16 >= 32 (stage 1 runs at half size and each "
                          f"stage downsamples 8 times), got {params['image_size']}")
    if params["batch_size"] < 1 or params["base_channels"] < 2:
        raise MethodError(f"params: batch_size must be >= 1 and base_channels >= 2; got {params['batch_size']}, "
                          f"{params['base_channels']}")
    if float(params["dropout"]) >= 1.0:
        raise MethodError(f"params.dropout: expected < 1, got {params['dropout']}")
    if float(params["crop_min"]) > float(params["crop_max"]):
        raise MethodError(f"params: crop_min {params['crop_min']} is larger than crop_max {params['crop_max']}")
    try:
        milestones(params)
    except ValueError as err:
        raise MethodError(f"params.lr_milestones: expected epochs separated by commas ('1000' or '200,400'), "
                          f"got {params['lr_milestones']!r}") from err
