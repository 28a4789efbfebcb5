"""Parameters of ukbb_fcn: defaults (kept equal to method.yaml) and their checks.

The harness checks names and types against method.yaml before the run; these checks repeat
the value rules for direct use (``main.py train --params FILE``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segarena_kit import MethodError, read_params

#: Multiple the network's input must have: 4 stride-2 levels (1/16) so that every level up-samples back exactly.
SIZE_MULTIPLE = 16

DEFAULTS: dict[str, Any] = {
    "epochs": 17,
    "volumes_per_batch": 2,
    "learning_rate": 1e-3,
    "crop_size": 192,
    "rotation_sd_deg": 10.0,
    "scale_sd": 0.2,
    "base_filters": 16,
    "bn_momentum": 0.99,
    "seed": 0,
    "max_batches_per_epoch": 0,
}


def load_params(path: Path | None) -> dict[str, Any]:
    """Defaults overlaid with the JSON file at ``path`` (``SEGARENA_SEED`` wins over ``seed``), checked."""
    params = read_params(path, DEFAULTS)
    check_params(params)
    return params


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_params(params: dict[str, Any]) -> None:
    for name in ("epochs", "volumes_per_batch", "crop_size", "base_filters", "seed", "max_batches_per_epoch"):
        if not _is_int(params[name]) or params[name] < 0:
            raise MethodError(f"params.{name}: expected a non-negative integer, got {params[name]!r}")
    if params["volumes_per_batch"] < 1 or params["base_filters"] < 1:
        raise MethodError(f"params: volumes_per_batch and base_filters must be >= 1, got "
                          f"{params['volumes_per_batch']} and {params['base_filters']}")
    if params["crop_size"] < SIZE_MULTIPLE or params["crop_size"] % SIZE_MULTIPLE:
        raise MethodError(f"params.crop_size: expected a multiple of {SIZE_MULTIPLE} (the FCN down-samples 4 times "
                          f"by 2), got {params['crop_size']}")
    for name in ("learning_rate", "rotation_sd_deg", "scale_sd"):
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            raise MethodError(f"params.{name}: expected a number >= 0, got {value!r}")
    momentum = params["bn_momentum"]
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        raise MethodError(f"params.bn_momentum: expected a number in [0, 1), got {momentum!r}")
    if params["learning_rate"] <= 0:
        raise MethodError(f"params.learning_rate: expected a number > 0, got {params['learning_rate']!r}")
