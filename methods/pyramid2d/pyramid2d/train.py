"""The training loop: Adam, MultiStepLR, the two-stage Dice loss, checkpoints every N epochs.

Writes into ``--out``:

    model.pt               the final weights (state dict): what predict uses
    checkpoint_<epoch>.pt  every ``checkpoint_every`` epochs: {"epoch", "state_dict", "optimizer"} (the seed's format)
    history.csv            epoch (1-based), train_loss (two-stage Dice loss, 0-2), train_mean_dice ((2 - loss) / 2),
                           learning_rate, val_dice_<class> per foreground class (with --val), seconds
    model_info.json        trainable parameter count and the architecture
    config.json            params (with the seed used), class names and values, versions
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from segarena_kit import MethodError
from segarena_kit.common_format import label_values, write_history

from pyramid2d.augment import augment
from pyramid2d.data import read_cases, read_dataset_json, training_slices
from pyramid2d.loss import two_stage_dice_loss
from pyramid2d.network import ARCHITECTURE, MultiScalePyramid
from pyramid2d.params import milestones
from pyramid2d.predict import predict_classes

log = logging.getLogger("pyramid2d")


def validation_dice(model: torch.nn.Module, cases: list[tuple[np.ndarray, np.ndarray]], n_classes: int, size: int,
                    device: torch.device) -> list[float]:
    """Mean over cases of each foreground class's Dice (NaN where both masks of a case are empty)."""
    model.eval()
    rows = []
    for image, label in cases:
        prediction = predict_classes(model, image, size, device)
        row = []
        for k in range(1, n_classes):
            p, r = prediction == k, label == k
            total = int(p.sum()) + int(r.sum())
            row.append(float("nan") if total == 0 else 2.0 * int((p & r).sum()) / total)
        rows.append(row)
    table = np.array(rows)
    return [float(np.nanmean(col)) if not np.isnan(col).all() else float("nan") for col in table.T]


def train(data: Path, out: Path, val: Path | None, init: Path | None, params: dict[str, Any],
          device: torch.device) -> None:
    if init is not None:
        raise MethodError(f"--init {init}: pyramid2d has no pretrained weights to start from (the seed trains from "
                          "scratch); run it under a scratch regime")
    seed, size = int(params["seed"]), int(params["image_size"])
    torch.manual_seed(seed)
    np.random.seed(seed)
    meta = read_dataset_json(data)
    names, values = label_values(meta["labels"])
    if len(values) < 2:
        raise MethodError(f"{data / 'dataset.json'}: labels {meta['labels']} hold no foreground class to learn")
    model = MultiScalePyramid(len(values), int(params["base_channels"]), float(params["dropout"])).to(device)
    xs, ys = training_slices(read_cases(data, values, "--data"), size)
    val_cases = read_cases(val, values, "--val") if val is not None else []
    n_parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("multi-scale pyramid, %d parameters; %d training slices of %dx%d, classes %s, %d validation cases, "
             "device %s", n_parameters, len(xs), size, size, names, len(val_cases), device)
    optimiser = torch.optim.Adam(model.parameters(), lr=float(params["learning_rate"]))
    scheduler = torch.optim.lr_scheduler.MultiStepLR(optimiser, milestones=milestones(params),
                                                     gamma=float(params["lr_gamma"]))
    epochs, batch, every = int(params["epochs"]), int(params["batch_size"]), int(params["checkpoint_every"])
    order_rng = torch.Generator().manual_seed(seed)
    augment_rng = torch.Generator().manual_seed(seed + 1)
    out.mkdir(parents=True, exist_ok=True)
    columns = ["epoch", "train_loss", "train_mean_dice", "learning_rate",
               *(f"val_dice_{n}" for n in (names[1:] if val_cases else [])), "seconds"]
    history: list[dict[str, Any]] = []
    for epoch in range(1, epochs + 1):
        started = time.time()
        model.train()
        order = torch.randperm(len(xs), generator=order_rng)
        total, n = 0.0, 0
        learning_rate = optimiser.param_groups[0]["lr"]
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            x, y = augment(xs[idx], ys[idx], params, int(torch.randint(0, 2**31 - 1, (1,), generator=augment_rng)))
            stage1, stage2 = model(x.to(device))
            loss = two_stage_dice_loss(stage1, stage2, y.to(device))
            if not torch.isfinite(loss):
                raise MethodError(f"epoch {epoch}: the training loss is {float(loss)}; lower the learning rate",
                                  exit_code=1)
            optimiser.zero_grad(set_to_none=True)
            loss.backward()
            optimiser.step()
            total += float(loss.detach()) * len(idx)
            n += len(idx)
        scheduler.step()
        mean_loss = total / max(n, 1)
        row: dict[str, Any] = {"epoch": epoch, "train_loss": mean_loss, "train_mean_dice": (2 - mean_loss) / 2,
                               "learning_rate": learning_rate}
        message = f"epoch {epoch}/{epochs} Dice loss {mean_loss:.3f} (mean Dice {(2 - mean_loss) / 2:.3f})"
        if val_cases:
            scores = validation_dice(model, val_cases, len(values), size, device)
            row.update({f"val_dice_{name}": s for name, s in zip(names[1:], scores, strict=True)})
            message += " val Dice " + ", ".join(f"{name} {s:.3f}" for name, s in zip(names[1:], scores, strict=True))
        if every and epoch % every == 0:
            torch.save({"epoch": epoch, "state_dict": model.state_dict(), "optimizer": optimiser.state_dict()},
                       out / f"checkpoint_{epoch}.pt")
            message += f", checkpoint_{epoch}.pt saved"
        row["seconds"] = time.time() - started
        history.append(row)
        write_history(out / "history.csv", history, columns)
        log.info("%s (%.1f s)", message, row["seconds"])
    torch.save(model.state_dict(), out / "model.pt")
    write_history(out / "history.csv", history, columns)
    (out / "model_info.json").write_text(json.dumps({
        "parameters": int(n_parameters), "architecture": ARCHITECTURE, "base_channels": int(params["base_channels"]),
        "stages": 2, "loss": "two-stage multi-class Dice",
    }, indent=2))
    (out / "config.json").write_text(json.dumps({
        "params": params, "seed": seed, "class_names": names, "class_values": values, "labels": meta["labels"],
        "device": str(device), "n_training_slices": len(xs), "n_validation_cases": len(val_cases),
        "versions": {"torch": torch.__version__},
    }, indent=2))
