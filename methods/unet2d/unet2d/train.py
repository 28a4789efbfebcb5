"""The training loop: seeded data order, augmentation, mixed precision on GPU, history and checkpoints.

Writes into ``--out``:

    model.pt        the final weights (state dict); what a fine-tune of this job starts from
    model_best.pt   the weights of the epoch with the best mean validation Dice (only with --val)
    history.csv     epoch (1-based), train_loss, val_dice_<class> per foreground class (with --val), seconds
    config.json     params (with the seed used), classes, what the weights started from (init),
                    the best epoch, which checkpoint predict uses, library versions
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
from segarena_kit.common_format import list_cases, read_dataset_json, read_label, write_history

from unet2d.augment import Augmenter
from unet2d.data import ClassMap, load_training_slices, read_case_channels
from unet2d.initialise import create_model
from unet2d.losses import build_loss
from unet2d.params import parse_loss
from unet2d.predict import autocast, predict_classes

log = logging.getLogger("unet2d")


def dice_per_class(prediction: np.ndarray, reference: np.ndarray, n_classes: int) -> list[float]:
    """Dice of classes 1..n-1; NaN where both masks are empty (the evaluator's rule), 0 where one is."""
    scores = []
    for k in range(1, n_classes):
        p, r = prediction == k, reference == k
        total = int(p.sum()) + int(r.sum())
        scores.append(float("nan") if total == 0 else 2.0 * int((p & r).sum()) / total)
    return scores


def read_validation(val: Path, class_map: ClassMap) -> list[tuple[np.ndarray, np.ndarray]]:
    """(normalised image (C, Z, Y, X), class indices (Z, Y, X)) of every case in ``val``."""
    meta = read_dataset_json(val)
    ending, n_channels = meta["file_ending"], len(meta["channel_names"])
    cases = list_cases(val / "imagesTr", ending)
    if not cases:
        raise MethodError(f"--val {val}: no validation cases (*_0000{ending}) in {val / 'imagesTr'}")
    return [(read_case_channels(val / "imagesTr", case, n_channels, ending)[0],
             class_map.to_classes(read_label(val / "labelsTr", case, ending), f"--val case {case}"))
            for case in cases]


def validate(model: torch.nn.Module, cases: list[tuple[np.ndarray, np.ndarray]], n_classes: int, size: int,
             device: torch.device, mixed_precision: bool) -> list[float]:
    """Mean over cases of each foreground class's Dice at the cases' own resolution (NaN if undefined in all)."""
    model.eval()
    per_case = np.array([dice_per_class(predict_classes(model, image, size, device, mixed_precision), label, n_classes)
                         for image, label in cases])
    with np.errstate(all="ignore"):
        defined = ~np.isnan(per_case)
        sums = np.where(defined, per_case, 0.0).sum(0)
        counts = defined.sum(0)
    return [float(s / c) if c else float("nan") for s, c in zip(sums, counts, strict=True)]


def versions() -> dict[str, str]:
    import segmentation_models_pytorch as smp
    import torchvision

    return {"torch": torch.__version__, "torchvision": torchvision.__version__, "smp": smp.__version__}


def train(data: Path, out: Path, val: Path | None, init: Path | None, params: dict[str, Any],
          device: torch.device) -> None:
    seed, size = int(params["seed"]), int(params["image_size"])
    torch.manual_seed(seed)
    np.random.seed(seed)
    meta = read_dataset_json(data)
    class_map = ClassMap.from_labels(meta["labels"], params["classes"])
    in_channels, n_classes = len(meta["channel_names"]), len(class_map.names)
    # The model first: a missing download or a refused fine-tune fails before any data is read.
    model, init_record = create_model(params, in_channels, list(class_map.names), init)
    model.to(device)
    xs, ys = load_training_slices(data, size, class_map)
    val_cases = read_validation(val, class_map) if val is not None else []
    use_amp = bool(params["mixed_precision"]) and device.type == "cuda"
    log.info("%d training slices of %dx%d, classes %s (%s), %d validation cases, device %s%s, params %s",
             len(xs), size, size, list(class_map.names), class_map.mode, len(val_cases), device,
             " with mixed precision" if use_amp else "", params)

    loss_fn = build_loss(parse_loss(params["loss"]))
    augmenter = Augmenter(params["augmentation"], size)
    epochs, batch, lr = int(params["epochs"]), int(params["batch_size"]), float(params["learning_rate"])
    per_epoch = len(xs) if int(params["max_slices_per_epoch"]) <= 0 else min(len(xs), int(params["max_slices_per_epoch"]))
    optimiser = torch.optim.Adam(model.parameters(), lr=lr)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimiser, max_lr=lr,
                                                    total_steps=max(1, epochs * math.ceil(per_epoch / batch)))
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    order_rng = torch.Generator().manual_seed(seed)
    augment_rng = torch.Generator().manual_seed(seed + 1)

    out.mkdir(parents=True, exist_ok=True)
    val_columns = [f"val_dice_{name}" for name in class_map.foreground] if val_cases else []
    columns = ["epoch", "train_loss", *val_columns, "seconds"]
    history: list[dict[str, Any]] = []
    best: dict[str, Any] = {}
    for epoch in range(1, epochs + 1):
        started = time.time()
        model.train()
        order = torch.randperm(len(xs), generator=order_rng)[:per_epoch]
        total, n = 0.0, 0
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            batch_seed = int(torch.randint(0, 2**31 - 1, (1,), generator=augment_rng))
            x, y = augmenter(xs[idx], ys[idx], batch_seed)
            x, y = x.to(device), y.to(device)
            with autocast(device, use_amp):
                loss = loss_fn(model(x), y)
            if not torch.isfinite(loss):
                raise MethodError(f"epoch {epoch}: the training loss is {float(loss)} (params.loss "
                                  f"{params['loss']!r}, learning_rate {lr}); lower the learning rate", exit_code=1)
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            if scheduler.last_epoch + 1 < scheduler.total_steps:
                scheduler.step()
            total += float(loss.detach()) * len(idx)
            n += len(idx)
        row: dict[str, Any] = {"epoch": epoch, "train_loss": total / max(n, 1)}
        message = f"epoch {epoch}/{epochs} loss {row['train_loss']:.4f}"
        if val_cases:
            scores = validate(model, val_cases, n_classes, size, device, use_amp)
            row.update({f"val_dice_{name}": s for name, s in zip(class_map.foreground, scores, strict=True)})
            defined = [s for s in scores if not math.isnan(s)]
            mean = sum(defined) / len(defined) if defined else float("nan")
            message += " val Dice " + ", ".join(f"{name} {s:.3f}" for name, s in zip(class_map.foreground, scores, strict=True))
            if not math.isnan(mean) and mean > best.get("val_dice_mean", -1.0):
                best = {"epoch": epoch, "val_dice_mean": mean}
                torch.save(model.state_dict(), out / "model_best.pt")
                message += " (best)"
        row["seconds"] = time.time() - started
        history.append(row)
        write_history(out / "history.csv", history, columns)
        log.info("%s (%.1f s)", message, row["seconds"])

    torch.save(model.state_dict(), out / "model.pt")
    write_history(out / "history.csv", history, columns)
    use_best = params["checkpoint"] == "best" and (out / "model_best.pt").is_file()
    if params["checkpoint"] == "best" and not use_best:
        log.info("checkpoint: best asked for, but there is no validation score (no --val or no epoch): predict "
                 "uses the final weights")
    config = {
        "params": params,
        "seed": seed,
        "in_channels": in_channels,
        "classes": n_classes,
        "class_mode": class_map.mode,
        "class_names": list(class_map.names),
        "class_values": list(class_map.values),
        "labels": meta["labels"],
        "init": init_record,
        "best": best or None,
        "predict_checkpoint": "model_best.pt" if use_best else "model.pt",
        "device": str(device),
        "mixed_precision_used": use_amp,
        "n_training_slices": len(xs),
        "n_validation_cases": len(val_cases),
        "versions": versions(),
    }
    (out / "config.json").write_text(json.dumps(config, indent=2))
    (out / "model_info.json").write_text(json.dumps({  # the report's compute table (containers/CONTRACT.md)
        "parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "architecture": f"U-Net, {params['encoder']} encoder, decoder {params['decoder_channels']}…16",
        "device": str(device), "training_slices": len(xs),
    }, indent=2))
