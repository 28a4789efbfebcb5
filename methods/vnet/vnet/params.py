"""Parameters of vnet: defaults (kept equal to method.yaml) and their checks.

The harness checks names and types against method.yaml before the run; these checks repeat the
value rules for direct use (``main.py train --params FILE``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segarena_kit import MethodError, read_params

DEFAULTS: dict[str, Any] = {
    "pipeline": "locate_crop",
    "base_filters": 16,
    "num_layers": 1,
    "norm": "instance",
    "attention": "none",
    "bam_reduction": 4,
    "bam_dilation": 4,
    "loss": "dice",
    "hybrid_region": "dice",
    "focal_alpha": 0.25,
    "focal_gamma": 2.0,
    "boundary_from_epoch": 0,
    "boundary_dice_threshold": 0.8,
    "boundary_step": 0.01,
    "boundary_max_weight": 1.0,
    "epochs": 200,
    "batch_size": 3,
    "learning_rate": 0.0003,
    "lr_patience": 7,
    "lr_factor": 0.8,
    "locator_epochs": 200,
    "locator_batch_size": 5,
    "locator_learning_rate": 0.0001,
    "locator_patience": 15,
    "locator_lr_factor": 0.85,
    "locator_base_filters": 16,
    "locator_scale": [0.5, 0.25, 0.25],
    "crop_buffer": [30, 30, 30],
    "patch_size": [64, 128, 128],
    "augmentation": "seed",
    "elastic": False,
    "noise_std": 0.05,
    "rotation_deg": 3.0,
    "translation_vox": 5,
    "seed": 0,
}

CHOICES = {
    "pipeline": ("direct", "locate_crop", "locator"),
    "norm": ("none", "batch", "instance"),
    "attention": ("none", "bam"),
    "loss": ("dice", "focal", "boundary", "hybrid"),
    "hybrid_region": ("dice", "focal"),
    "augmentation": ("none", "seed"),
}
POSITIVE_INTS = ("base_filters", "num_layers", "bam_reduction", "bam_dilation", "batch_size", "locator_batch_size",
                 "locator_base_filters")
NON_NEGATIVE_INTS = ("epochs", "locator_epochs", "lr_patience", "locator_patience", "boundary_from_epoch",
                     "translation_vox", "seed")
UNIT_FLOATS = ("focal_alpha", "lr_factor", "locator_lr_factor")
NON_NEGATIVE_FLOATS = ("focal_gamma", "boundary_dice_threshold", "boundary_step", "boundary_max_weight", "noise_std",
                       "rotation_deg")


def load_params(path: Path | None) -> dict[str, Any]:
    """Defaults overlaid with the JSON file at ``path`` (``SEGARENA_SEED`` wins over ``seed``), checked."""
    params = read_params(path, DEFAULTS)
    check_params(params)
    return params


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def check_params(params: dict[str, Any]) -> None:
    for name, choices in CHOICES.items():
        if params[name] not in choices:
            raise MethodError(f"params.{name}: {params[name]!r} is not one of {', '.join(choices)}")
    for name in POSITIVE_INTS:
        if not _is_int(params[name]) or params[name] < 1:
            raise MethodError(f"params.{name}: expected an integer >= 1, got {params[name]!r}")
    for name in NON_NEGATIVE_INTS:
        if not _is_int(params[name]) or params[name] < 0:
            raise MethodError(f"params.{name}: expected an integer >= 0, got {params[name]!r}")
    for name in UNIT_FLOATS:
        if not _is_number(params[name]) or not 0 < params[name] <= 1:
            raise MethodError(f"params.{name}: expected a number in (0, 1], got {params[name]!r}")
    for name in NON_NEGATIVE_FLOATS:
        if not _is_number(params[name]) or params[name] < 0:
            raise MethodError(f"params.{name}: expected a number >= 0, got {params[name]!r}")
    for name in ("learning_rate", "locator_learning_rate"):
        if not _is_number(params[name]) or not 0 < params[name] <= 1:
            raise MethodError(f"params.{name}: expected a number in (0, 1], got {params[name]!r}")
    if not isinstance(params["elastic"], bool):
        raise MethodError(f"params.elastic: expected true or false, got {params['elastic']!r}")
    scale = params["locator_scale"]
    if not (isinstance(scale, list) and len(scale) == 3 and all(_is_number(s) and 0 < s <= 1 for s in scale)):
        raise MethodError(f"params.locator_scale: expected 3 factors in (0, 1] (D, H, W), got {scale!r}")
    buffer = params["crop_buffer"]
    if not (isinstance(buffer, list) and len(buffer) == 3 and all(_is_int(b) and b >= 0 for b in buffer)):
        raise MethodError(f"params.crop_buffer: expected 3 integers >= 0 (voxels per axis, D, H, W), got {buffer!r}")
    patch = params["patch_size"]
    if not (isinstance(patch, list) and len(patch) == 3 and all(_is_int(p) and p >= 32 and p % 16 == 0 for p in patch)):
        raise MethodError(f"params.patch_size: expected 3 multiples of 16, each >= 32 (D, H, W; VNet down-samples 4 times), "
                          f"got {patch!r}")
    if params["bam_reduction"] > params["base_filters"]:
        raise MethodError(f"params.bam_reduction: {params['bam_reduction']} is larger than base_filters "
                          f"{params['base_filters']} (BAM reduces the channels by it)")
