"""The authors' training recipe: softmax cross-entropy, Adam (lr 1e-3), batches of all slices of a few
volumes cropped to 192 x 192, rotation and scale augmentation, per-volume percentile rescale.

Writes into ``--out``:

    model.pt         the final weights (state dict); what a fine-tune of this job starts from
    history.csv      epoch (1-based), train_loss, val_dice_<LV|MYO|RV> (with --val), seconds
    config.json      params (with the seed), the dataset's label map, what the weights started from, versions
    model_info.json  {"parameters": trainable parameter count, "architecture": ...} for the report

An epoch is every training volume once, ``volumes_per_batch`` volumes per step (the authors: 50,000
iterations of 2 volumes over 5,928 ED/ES volumes of UK Biobank, about 17 epochs). ``epochs: 0`` keeps
the initial weights (e.g. the authors' converted weights: the published model as it is).
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from segarena_kit import MethodError
from segarena_kit.common_format import list_cases, read_label, write_history

from ukbb_fcn.augment import augment
from ukbb_fcn.data import label_map_of, load_training_volumes, read_dataset_json, read_image
from ukbb_fcn.initialise import create_model
from ukbb_fcn.labels import UKBB_CLASSES, LabelMap
from ukbb_fcn.network import count_parameters, set_bn_momentum
from ukbb_fcn.predict import predict_classes

log = logging.getLogger("ukbb_fcn")

ARCHITECTURE = ("UK Biobank short-axis FCN (Bai et al. 2018): 5 levels of {16,32,64,128,256}x{2,2,3,3,3} 3x3 "
                "conv+BN+ReLU, fixed bilinear up-sampling, 1x1 fusion, 4 classes")


def dice_per_class(prediction: np.ndarray, reference: np.ndarray) -> list[float]:
    """Dice of the authors' classes 1..3; NaN where both masks are empty, 0 where one is."""
    scores = []
    for k in range(1, len(UKBB_CLASSES)):
        p, r = prediction == k, reference == k
        total = int(p.sum()) + int(r.sum())
        scores.append(float("nan") if total == 0 else 2.0 * int((p & r).sum()) / total)
    return scores


def read_validation(val: Path, label_map: LabelMap) -> list[tuple[np.ndarray, np.ndarray]]:
    meta = read_dataset_json(val)
    ending = meta["file_ending"]
    cases = list_cases(val / "imagesTr", ending)
    return [(read_image(val / "imagesTr", c, ending)[0],
             label_map.to_classes(read_label(val / "labelsTr", c, ending), f"--val case {c}")) for c in cases]


def validate(model: torch.nn.Module, cases: list[tuple[np.ndarray, np.ndarray]], device: torch.device) -> list[float]:
    per_case = np.array([dice_per_class(predict_classes(model, image, device), label) for image, label in cases])
    with np.errstate(all="ignore"):
        return [float(np.nanmean(column)) if not np.isnan(column).all() else float("nan") for column in per_case.T]


def train(data: Path, out: Path, val: Path | None, init: Path | None, params: dict[str, Any],
          device: torch.device) -> None:
    seed = int(params["seed"])
    torch.manual_seed(seed)
    np.random.seed(seed)
    meta = read_dataset_json(data)
    label_map = label_map_of(meta, f"--data {data}/dataset.json")
    model, init_record = create_model(params, init)  # a refused --init fails before any data is read
    model.to(device)
    set_bn_momentum(model, float(params["bn_momentum"]))
    volumes = load_training_volumes(data, int(params["crop_size"]), label_map)
    val_cases = read_validation(val, label_map) if val is not None else []
    n_slices = sum(len(v[0]) for v in volumes)
    log.info("%d training volumes (%d slices) cropped to %d, %d validation cases, device %s, params %s",
             len(volumes), n_slices, params["crop_size"], len(val_cases), device, params)
    optimiser = torch.optim.Adam(model.parameters(), lr=float(params["learning_rate"]))
    order_rng = torch.Generator().manual_seed(seed)
    augment_rng = torch.Generator().manual_seed(seed + 1)
    per_batch = int(params["volumes_per_batch"])
    max_batches = int(params["max_batches_per_epoch"])
    out.mkdir(parents=True, exist_ok=True)
    foreground = list(UKBB_CLASSES[1:])
    columns = ["epoch", "train_loss", *([f"val_dice_{n}" for n in foreground] if val_cases else []), "seconds"]
    history: list[dict[str, Any]] = []
    for epoch in range(1, int(params["epochs"]) + 1):
        started = time.time()
        model.train()
        order = torch.randperm(len(volumes), generator=order_rng).tolist()
        batches = [order[i : i + per_batch] for i in range(0, len(order), per_batch)]
        if max_batches:
            batches = batches[:max_batches]
        total, n = 0.0, 0
        for batch in batches:
            x = torch.from_numpy(np.concatenate([volumes[i][0] for i in batch]))[:, None]
            y = torch.from_numpy(np.concatenate([volumes[i][1] for i in batch]))
            x, y = augment(x, y, float(params["rotation_sd_deg"]), float(params["scale_sd"]), augment_rng)
            loss = F.cross_entropy(model(x.to(device)), y.to(device))
            if not torch.isfinite(loss):
                raise MethodError(f"epoch {epoch}: the training loss is {float(loss)} (learning_rate "
                                  f"{params['learning_rate']}); lower the learning rate", exit_code=1)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(x)
            n += len(x)
        row: dict[str, Any] = {"epoch": epoch, "train_loss": total / max(n, 1)}
        message = f"epoch {epoch}/{params['epochs']} loss {row['train_loss']:.4f}"
        if val_cases:
            scores = validate(model, val_cases, device)
            row.update({f"val_dice_{name}": s for name, s in zip(foreground, scores, strict=True)})
            message += " val Dice " + ", ".join(f"{name} {s:.3f}" for name, s in zip(foreground, scores, strict=True)
                                                if not math.isnan(s))
        row["seconds"] = time.time() - started
        history.append(row)
        write_history(out / "history.csv", history, columns)
        log.info("%s (%.1f s)", message, row["seconds"])
    torch.save(model.state_dict(), out / "model.pt")
    write_history(out / "history.csv", history, columns)
    (out / "model_info.json").write_text(json.dumps(
        {"parameters": count_parameters(model), "architecture": ARCHITECTURE,
         "input": "1 channel, height and width multiples of 16", "init": init_record["kind"]}, indent=2))
    config = {
        "params": params, "seed": seed, "labels": meta.get("labels"),
        "label_map": dict(zip(UKBB_CLASSES, label_map.dataset_values, strict=True)),
        "init": init_record, "device": str(device), "n_training_volumes": len(volumes),
        "n_training_slices": n_slices, "n_validation_cases": len(val_cases),
        "versions": {"torch": torch.__version__, "numpy": np.__version__},
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
