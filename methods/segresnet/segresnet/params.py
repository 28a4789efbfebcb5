"""Parameters of segresnet: defaults (kept equal to method.yaml) and their checks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segarena_kit import MethodError, read_params

DEFAULTS: dict[str, Any] = {
    "init_filters": 16,
    "blocks_down": [1, 2, 2, 4],
    "blocks_up": [1, 1, 1],
    "dropout": 0.2,
    "vae": False,
    "vae_weight": 0.1,
    "epochs": 300,
    "batch_size": 1,
    "learning_rate": 0.0001,
    "weight_decay": 0.00001,
    "roi_size": [128, 160, 160],
    "sw_overlap": 0.5,
    "intensity_shift": 0.1,
    "intensity_scale": 0.1,
    "flip_prob": 0.5,
    "threshold": 0.5,
    "mixed_precision": True,
    "seed": 0,
}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def load_params(path: Path | None) -> dict[str, Any]:
    """Defaults overlaid with the JSON file at ``path`` (``SEGARENA_SEED`` wins over ``seed``), checked."""
    params = read_params(path, DEFAULTS)
    check_params(params)
    return params


def check_params(params: dict[str, Any]) -> None:
    if not _is_int(params["init_filters"]) or params["init_filters"] < 8 or params["init_filters"] % 8:
        raise MethodError(f"params.init_filters: expected a multiple of 8 (GroupNorm of 8 groups), "
                          f"got {params['init_filters']!r}")
    down, up = params["blocks_down"], params["blocks_up"]
    if not (isinstance(down, list) and down and all(_is_int(b) and b >= 1 for b in down)):
        raise MethodError(f"params.blocks_down: expected a list of integers >= 1, got {down!r}")
    if not (isinstance(up, list) and len(up) == len(down) - 1 and all(_is_int(b) and b >= 1 for b in up)):
        raise MethodError(f"params.blocks_up: expected {len(down) - 1} integers >= 1 (one fewer than blocks_down), "
                          f"got {up!r}")
    factor = 2 ** (len(down) - 1) * (2 if params["vae"] else 1)
    roi = params["roi_size"]
    if not (isinstance(roi, list) and len(roi) == 3 and all(_is_int(r) and r >= factor and r % factor == 0 for r in roi)):
        raise MethodError(f"params.roi_size: expected 3 multiples of {factor} (D, H, W; {len(down) - 1} "
                          f"down-samplings{' and the VAE branch' if params['vae'] else ''}), got {roi!r}")
    for name in ("epochs", "seed"):
        if not _is_int(params[name]) or params[name] < 0:
            raise MethodError(f"params.{name}: expected an integer >= 0, got {params[name]!r}")
    if not _is_int(params["batch_size"]) or params["batch_size"] < 1:
        raise MethodError(f"params.batch_size: expected an integer >= 1, got {params['batch_size']!r}")
    for name, lo, hi in (("dropout", 0.0, 0.99), ("vae_weight", 0.0, 100.0), ("learning_rate", 1e-8, 1.0),
                         ("weight_decay", 0.0, 1.0), ("sw_overlap", 0.0, 0.95), ("intensity_shift", 0.0, 10.0),
                         ("intensity_scale", 0.0, 0.99), ("flip_prob", 0.0, 1.0), ("threshold", 0.0, 1.0)):
        if not _is_number(params[name]) or not lo <= params[name] <= hi:
            raise MethodError(f"params.{name}: expected a number in [{lo}, {hi}], got {params[name]!r}")
    for name in ("vae", "mixed_precision"):
        if not isinstance(params[name], bool):
            raise MethodError(f"params.{name}: expected true or false, got {params[name]!r}")
