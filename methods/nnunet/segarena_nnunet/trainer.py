"""The trainer: nnU-Net's default ``nnUNetTrainer`` with SegArena's epoch and iteration counts.

The counts are parameters, not class names (no ``nnUNetTrainer_5epochs``): each
training run writes one small module defining ``nnUNetTrainerSegArena`` with
its counts, trains with it, and keeps it in the model folder (``trainer/``).
Predict loads the class from there; stock nnU-Net tools find it too with
``nnUNet_extTrainer=<model>/trainer``.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from typing import Any

TRAINER_NAME = "nnUNetTrainerSegArena"

_TEMPLATE = '''\
"""Written by SegArena's nnunet method: nnU-Net's default trainer, {epochs} epoch(s) of {iterations} training
and {val_iterations} validation iterations. Architecture, loss, augmentation and schedule are nnU-Net's own."""

import torch

from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer


class {name}(nnUNetTrainer):
    def __init__(self, plans: dict, configuration: str, fold: int, dataset_json: dict,
                 device: torch.device = torch.device("cuda")):
        super().__init__(plans, configuration, fold, dataset_json, device)
        self.num_epochs = {epochs}
        self.num_iterations_per_epoch = {iterations}
        self.num_val_iterations_per_epoch = {val_iterations}
'''


def write_trainer_module(folder: Path, epochs: int, iterations: int, val_iterations: int) -> Path:
    """``folder/nnUNetTrainerSegArena.py`` with these counts (validated integers, so safe to render)."""
    counts = {"epochs": epochs, "iterations": iterations, "val_iterations": val_iterations}
    for name, value in counts.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{TRAINER_NAME}.py"
    path.write_text(_TEMPLATE.format(name=TRAINER_NAME, **counts))
    return path


def load_trainer_class(path: Path) -> Any:
    """The trainer class of a module written by :func:`write_trainer_module` (no bytecode cache is written)."""
    spec = importlib.util.spec_from_file_location(f"segarena_generated_{TRAINER_NAME}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    dont_write = sys.dont_write_bytecode
    sys.dont_write_bytecode = True  # the model folder is read-only at predict time
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = dont_write
    return getattr(module, TRAINER_NAME)
