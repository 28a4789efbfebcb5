"""Training: stage the cases, plan and preprocess, hand over SegArena's split, train, export the model folder.

Writes into ``--out``:

    nnunet/             nnU-Net's model folder: plans.json, dataset.json, dataset_fingerprint.json,
                        fold_0/checkpoint_final.pth, progress.png, training log, validation/ (its own
                        validation of the final model, with final_validation)
    trainer/            nnUNetTrainerSegArena.py, the trainer class the checkpoint names
    splits_final.json   the split nnU-Net trained with (fold 0: train = --data, val = --val or carved)
    history.csv         epoch (1-based), train_loss, val_loss, val_dice_<label or region> (nnU-Net's
                        pseudo Dice on val patches), seconds
    config.json         params, seed, device, plans identifier, cases, timings, versions

nnU-Net's raw, preprocessed and results folders live in ``--out/.nnunet-work-*`` while
training (removed at the end, also on failure).
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
import platform
import random
import shutil
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch
from segarena_kit import MethodError

from segarena_nnunet.cases import CaseSet, make_split, read_case_set
from segarena_nnunet.plan import plan_and_preprocess
from segarena_nnunet.trainer import TRAINER_NAME, load_trainer_class, write_trainer_module
from segarena_nnunet.workspace import DATASET_NAME, environment, stage_raw_dataset, workspace

log = logging.getLogger("nnunet")
MODEL_SUBDIR = "nnunet"
TRAINER_SUBDIR = "trainer"


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def structure_names(dataset_json: dict[str, Any]) -> list[str]:
    """Names of the network's foreground outputs in nnU-Net's order (labels by value, or regions as declared)."""
    labels = {k: v for k, v in dataset_json["labels"].items() if k != "ignore"}
    if any(isinstance(v, list) for v in labels.values()):
        return [k for k, v in labels.items() if set(v if isinstance(v, list) else [v]) != {0}]
    return [k for k, v in sorted(labels.items(), key=lambda item: int(item[1])) if int(v) != 0]


def training_history(trainer: Any, names: list[str]) -> list[dict[str, Any]]:
    """One row per finished epoch from nnU-Net's logger."""
    logged = {key: trainer.logger.get_value(key, None) for key in (
        "train_losses", "val_losses", "dice_per_class_or_region", "epoch_start_timestamps", "epoch_end_timestamps")}
    rows = []
    for epoch in range(min(len(values) for values in logged.values())):
        row: dict[str, Any] = {"epoch": epoch + 1, "train_loss": float(logged["train_losses"][epoch]),
                               "val_loss": float(logged["val_losses"][epoch])}
        dice = list(logged["dice_per_class_or_region"][epoch])
        columns = names if len(names) == len(dice) else [str(i + 1) for i in range(len(dice))]
        row.update({f"val_dice_{name}": float(d) for name, d in zip(columns, dice, strict=True)})
        row["seconds"] = float(logged["epoch_end_timestamps"][epoch] - logged["epoch_start_timestamps"][epoch])
        rows.append(row)
    return rows


def write_history(path: Path, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def check_init(init: Path | None) -> None:
    if init is not None:
        raise MethodError(f"--init {init}: the nnunet method trains from scratch only (nnU-Net's planned architecture "
                          "differs between datasets, so weights do not transfer without moving plans); "
                          "use the scratch regime for nnunet", exit_code=2)


def train(data: Path, val: Path | None, out: Path, init: Path | None, params: dict[str, Any], seed: int,
          device: torch.device, threads: int) -> None:
    check_init(init)
    started = time.monotonic()
    train_set = read_case_set(data, "--data")
    val_set = read_case_set(val, "--val") if val is not None else None
    split = make_split(train_set, val_set, float(params["val_fraction"]), seed)
    log.info("split for nnU-Net fold 0: %d training and %d validation cases (validation: %s)",
             len(split.train), len(split.val), split.source)
    processes = 1 if params["fast_cpu"] else threads
    configuration = params["configuration"]
    timings: dict[str, float] = {}
    out.mkdir(parents=True, exist_ok=True)
    with workspace(out) as space:
        sets: list[CaseSet] = [train_set, *([val_set] if val_set is not None else [])]
        stage_raw_dataset(space, sets)
        plans_identifier = plan_and_preprocess(configuration, params["planner"], processes)
        (space.preprocessed / "splits_final.json").write_text(json.dumps(split.to_splits_final(), indent=2))
        timings["plan_s"] = time.monotonic() - started

        trainer_module = write_trainer_module(space.root / TRAINER_SUBDIR, params["epochs"],
                                              params["iterations_per_epoch"], params["val_iterations"])
        trainer = build_trainer(load_trainer_class(trainer_module), space.preprocessed, plans_identifier,
                                configuration, params, device)
        seed_everything(seed)
        tick = time.monotonic()
        with augmentation_workers(params["fast_cpu"], threads):
            trainer.run_training()
        timings["train_s"] = time.monotonic() - tick
        if params["final_validation"]:
            tick = time.monotonic()
            if params["disable_tta"]:
                # The checkpoint (already written) keeps the mirroring axes; only this validation skips them,
                # so it scores what predict will produce.
                trainer.inference_allowed_mirroring_axes = None
            trainer.perform_actual_validation(False)
            timings["validation_s"] = time.monotonic() - tick
        history = training_history(trainer, structure_names(trainer.dataset_json))

        results = Path(trainer.output_folder_base)
        export_model(results, trainer_module, out)
        network = getattr(trainer, "network", None)
        parameters = sum(p.numel() for p in network.parameters() if p.requires_grad) if network is not None else None
    (out / "splits_final.json").write_text(json.dumps(split.to_splits_final(), indent=2))
    write_history(out / "history.csv", history)
    timings["total_s"] = time.monotonic() - started
    config = {
        "method": "nnunet",
        "params": params,
        "seed": seed,
        "device": str(device),
        "threads": threads,
        "dataset_name": DATASET_NAME,
        "configuration": configuration,
        "plans_identifier": plans_identifier,
        "trainer": TRAINER_NAME,
        "model_folder": MODEL_SUBDIR,
        "trainer_folder": TRAINER_SUBDIR,
        "checkpoint": "checkpoint_final.pth",
        "fold": 0,
        "train_cases": sorted(split.train),
        "val_cases": sorted(split.val),
        "val_source": split.source,
        "final_validation_dice": _final_validation_summary(out / MODEL_SUBDIR),
        "timings": {k: round(v, 2) for k, v in timings.items()},
        "versions": {"nnunetv2": version("nnunetv2"), "torch": torch.__version__, "python": platform.python_version()},
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    info = {"architecture": f"nnU-Net {configuration} ({plans_identifier})", "device": str(device)}
    if parameters is not None:
        info["parameters"] = parameters
    (out / "model_info.json").write_text(json.dumps(info, indent=2))  # the report's compute table
    log.info("model written to %s (plan %.1f s, train %.1f s, total %.1f s)", out, timings["plan_s"],
             timings["train_s"], timings["total_s"])


def augmentation_workers(fast_cpu: bool, threads: int) -> contextlib.AbstractContextManager[None]:
    """fast_cpu: augmentation in the training process (no workers). Otherwise nnU-Net's pool, sized to the
    job's thread budget unless ``nnUNet_n_proc_DA`` is set (nnU-Net's own default counts every core of the host,
    not the container's CPU limit)."""
    if fast_cpu:
        return environment(nnUNet_n_proc_DA="0")
    if "nnUNet_n_proc_DA" in os.environ:
        return contextlib.nullcontext()
    return environment(nnUNet_n_proc_DA=str(min(12, threads)))


def build_trainer(trainer_class: Any, preprocessed: Path, plans_identifier: str, configuration: str,
                  params: dict[str, Any], device: torch.device) -> Any:
    """The trainer as ``nnUNetv2_train`` builds it (fold 0), with the batch size param applied to the plans."""
    plans = json.loads((preprocessed / f"{plans_identifier}.json").read_text())
    if params["batch_size"]:
        plans["configurations"][configuration]["batch_size"] = int(params["batch_size"])
    plans["continue_training"] = False  # nnUNetTrainer.__init__ pops this key (2.8.1)
    dataset_json = json.loads((preprocessed / "dataset.json").read_text())
    if device.type == "cuda":
        torch.backends.cudnn.deterministic = False
        torch.backends.cudnn.benchmark = True
    return trainer_class(plans=plans, configuration=configuration, fold=0, dataset_json=dataset_json, device=device)


def export_model(results: Path, trainer_module: Path, out: Path) -> None:
    """nnU-Net's model folder (final checkpoint only) and the trainer module into ``out``."""
    if not (results / "fold_0" / "checkpoint_final.pth").is_file():
        raise MethodError(f"nnU-Net finished without writing {results}/fold_0/checkpoint_final.pth", exit_code=1)
    for unused in ("checkpoint_best.pth", "checkpoint_latest.pth"):
        (results / "fold_0" / unused).unlink(missing_ok=True)
    target = out / MODEL_SUBDIR
    shutil.rmtree(target, ignore_errors=True)
    shutil.move(str(results), str(target))  # the workspace is inside --out: a rename
    trainer_folder = out / TRAINER_SUBDIR
    trainer_folder.mkdir(exist_ok=True)
    shutil.copy2(trainer_module, trainer_folder / trainer_module.name)


def _final_validation_summary(model: Path) -> dict[str, Any] | None:
    path = model / "fold_0" / "validation" / "summary.json"
    if not path.is_file():
        return None
    summary = json.loads(path.read_text())
    return {"foreground_mean_dice": summary.get("foreground_mean", {}).get("Dice"),
            "mean_dice": {k: v.get("Dice") for k, v in summary.get("mean", {}).items()}}
