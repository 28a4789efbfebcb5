"""The training loop: seeded data order, augmentation, per-epoch validation Dice, history and the model.

Writes into ``--out``:

    model.pt         the final weights (state dict); what predict and a fine-tune of this job start from
    history.csv      epoch (1-based), train_loss, val_dice_<class> and val_pixel_accuracy (with --val), seconds
    model_info.json  trainable parameter count, architecture, input channels, what the weights started from
    config.json      params (with the seed used), class names and values, rgb input, init record, versions
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
from segarena_kit import MethodError
from segarena_kit.common_format import label_values, write_history

from fcn.augment import augment
from fcn.data import read_cases, read_dataset_json, to_network_input, training_slices
from fcn.initialise import create_model
from fcn.losses import LOSSES
from fcn.networks import DESCRIPTIONS
from fcn.predict import predict_classes

log = logging.getLogger("fcn")


def validation_scores(model: torch.nn.Module, cases: list[tuple[np.ndarray, np.ndarray]], n_classes: int,
                      size: int, rgb: bool, device: torch.device) -> tuple[list[float], float]:
    """Mean over cases of each foreground class's Dice (NaN where both masks are empty) and the pixel accuracy."""
    model.eval()
    dice: list[list[float]] = []
    accuracy = []
    for image, label in cases:
        prediction = predict_classes(model, image, size, rgb, device)
        accuracy.append(float((prediction == label).mean()))
        row = []
        for k in range(1, n_classes):
            p, r = prediction == k, label == k
            total = int(p.sum()) + int(r.sum())
            row.append(float("nan") if total == 0 else 2.0 * int((p & r).sum()) / total)
        dice.append(row)
    per_class = np.array(dice)
    means = [float(np.nanmean(col)) if not np.isnan(col).all() else float("nan") for col in per_class.T]
    return means, float(np.mean(accuracy))


def make_optimizer(params: dict[str, Any], model: torch.nn.Module) -> torch.optim.Optimizer:
    trainable = [p for p in model.parameters() if p.requires_grad]
    lr = float(params["learning_rate"])
    if params["optimizer"] == "sgd":
        return torch.optim.SGD(trainable, lr=lr, momentum=0.9, weight_decay=5e-4)
    return torch.optim.Adam(trainable, lr=lr)


def train(data: Path, out: Path, val: Path | None, init: Path | None, params: dict[str, Any],
          device: torch.device) -> None:
    seed, size = int(params["seed"]), int(params["image_size"])
    torch.manual_seed(seed)
    np.random.seed(seed)
    meta = read_dataset_json(data)
    names, values = label_values(meta["labels"])
    model, init_record, rgb = create_model(params, len(values), init)
    model.to(device)
    xs, ys = training_slices(read_cases(data, values, "--data"), size)
    val_cases = read_cases(val, values, "--val") if val is not None else []
    n_parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("%s, %d parameters, %s input; %d training slices of %dx%d, classes %s, %d validation cases, device %s",
             params["arch"], n_parameters, "3-channel" if rgb else "1-channel", len(xs), size, size, names,
             len(val_cases), device)
    loss_fn = LOSSES[params["loss"]]
    optimiser = make_optimizer(params, model)
    epochs, batch = int(params["epochs"]), int(params["batch_size"])
    per_epoch = len(xs) if int(params["max_slices_per_epoch"]) <= 0 else min(len(xs), int(params["max_slices_per_epoch"]))
    order_rng = torch.Generator().manual_seed(seed)
    augment_rng = torch.Generator().manual_seed(seed + 1)

    out.mkdir(parents=True, exist_ok=True)
    val_columns = [*(f"val_dice_{n}" for n in names[1:]), "val_pixel_accuracy"] if val_cases else []
    columns = ["epoch", "train_loss", *val_columns, "seconds"]
    history: list[dict[str, Any]] = []
    for epoch in range(1, epochs + 1):
        started = time.time()
        model.train()
        order = torch.randperm(len(xs), generator=order_rng)[:per_epoch]
        total, n = 0.0, 0
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            x, y = xs[idx], ys[idx]
            if params["augmentation"] == "digits":
                x, y = augment(x, y, int(torch.randint(0, 2**31 - 1, (1,), generator=augment_rng)))
            loss = loss_fn(model(to_network_input(x, rgb).to(device)), y.to(device))
            if not torch.isfinite(loss):
                raise MethodError(f"epoch {epoch}: the training loss is {float(loss)} (learning_rate "
                                  f"{params['learning_rate']}); lower the learning rate", exit_code=1)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(idx)
            n += len(idx)
        row: dict[str, Any] = {"epoch": epoch, "train_loss": total / max(n, 1)}
        message = f"epoch {epoch}/{epochs} {params['loss']} loss {row['train_loss']:.4f}"
        if val_cases:
            dice, accuracy = validation_scores(model, val_cases, len(values), size, rgb, device)
            row.update({f"val_dice_{name}": s for name, s in zip(names[1:], dice, strict=True)})
            row["val_pixel_accuracy"] = accuracy
            message += " val Dice " + ", ".join(f"{name} {s:.3f}" for name, s in zip(names[1:], dice, strict=True))
            message += f", pixel accuracy {accuracy:.3f}"
        row["seconds"] = time.time() - started
        history.append(row)
        write_history(out / "history.csv", history, columns)
        log.info("%s (%.1f s)", message, row["seconds"])

    torch.save(model.state_dict(), out / "model.pt")
    write_history(out / "history.csv", history, columns)
    (out / "model_info.json").write_text(json.dumps({
        "parameters": int(n_parameters), "architecture": DESCRIPTIONS[params["arch"]],
        "input_channels": 3 if rgb else 1, "fc_channels": int(params["fc_channels"]), "loss": params["loss"],
        "init": init_record["kind"],
    }, indent=2))
    import torchvision

    config = {
        "params": params, "seed": seed, "rgb": rgb, "class_names": names, "class_values": values,
        "labels": meta["labels"], "init": init_record, "device": str(device), "n_training_slices": len(xs),
        "n_validation_cases": len(val_cases), "last_val": {k: v for k, v in (history[-1] if history else {}).items()
                                                           if k.startswith("val_") and not math.isnan(v)},
        "versions": {"torch": torch.__version__, "torchvision": torchvision.__version__},
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
