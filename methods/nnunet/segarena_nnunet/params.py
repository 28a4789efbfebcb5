"""Parameters of the nnunet method: defaults (kept equal to method.yaml) and their checks.

The harness checks names and types against method.yaml before the run; these
checks repeat the value rules for direct use (``main.py train --params FILE``).
The defaults are nnU-Net's own (1000 epochs of 250 + 50 iterations); the CPU
path of the tests sets ``fast_cpu`` and small counts.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from segarena_kit import MethodError, read_params

CONFIGURATIONS = ("2d", "3d_fullres")
# SegArena name -> (nnU-Net experiment planner class, the plans identifier it writes)
PLANNERS: dict[str, tuple[str, str]] = {
    "default": ("ExperimentPlanner", "nnUNetPlans"),
    "resenc_m": ("nnUNetPlannerResEncM", "nnUNetResEncUNetMPlans"),
    "resenc_l": ("nnUNetPlannerResEncL", "nnUNetResEncUNetLPlans"),
    "resenc_xl": ("nnUNetPlannerResEncXL", "nnUNetResEncUNetXLPlans"),
}

DEFAULTS: dict[str, Any] = {
    "configuration": "2d",
    "planner": "default",
    "epochs": 1000,
    "iterations_per_epoch": 250,
    "val_iterations": 50,
    "batch_size": 0,
    "fast_cpu": False,
    "disable_tta": False,
    "val_fraction": 0.2,
    "final_validation": True,
}

_POSITIVE = ("epochs", "iterations_per_epoch", "val_iterations")


def load_params(path: Path | None) -> dict[str, Any]:
    """Defaults overlaid with the JSON object at ``path``, checked; the seed comes from ``SEGARENA_SEED`` (default 0)."""
    params = read_params(path, DEFAULTS)
    check_params(params)
    return params


def seed_from_environment() -> int:
    value = os.environ.get("SEGARENA_SEED", "0") or "0"
    try:
        return int(value)
    except ValueError as err:
        raise MethodError(f"SEGARENA_SEED={value!r}: expected an integer") from err


def check_params(params: dict[str, Any]) -> None:
    if params["configuration"] not in CONFIGURATIONS:
        raise MethodError(f"params.configuration: {params['configuration']!r} is not one of "
                          f"{', '.join(CONFIGURATIONS)}")
    if params["planner"] not in PLANNERS:
        raise MethodError(f"params.planner: {params['planner']!r} is not one of {', '.join(PLANNERS)}")
    for name in (*_POSITIVE, "batch_size"):
        value = params[name]
        minimum = 1 if name in _POSITIVE else 0
        if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
            raise MethodError(f"params.{name}: expected an integer >= {minimum}, got {value!r}")
    for name in ("fast_cpu", "disable_tta", "final_validation"):
        if not isinstance(params[name], bool):
            raise MethodError(f"params.{name}: expected true or false, got {params[name]!r}")
    fraction = params["val_fraction"]
    if isinstance(fraction, bool) or not isinstance(fraction, (int, float)) or not 0 < fraction < 1:
        raise MethodError(f"params.val_fraction: expected a number between 0 and 1 (exclusive), got {fraction!r}")
