"""Training: the BraTS recipe (Dice loss on sigmoid region outputs, Adam, cosine schedule, AMP on GPU).

Writes into ``--out``: ``model.pt`` (state dict; what a fine-tune starts from), ``config.json``,
``model_info.json`` (parameters, architecture, training seconds) and ``history.csv`` (epoch,
train_loss, val_dice_<region> with --val, lr, seconds).
"""

from __future__ import annotations

import csv
import json
import logging
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from segarena_kit import MethodError
from segarena_kit.common_format import list_cases, read_dataset_json

from segresnet.augment import augment
from segresnet.data import read_image, read_label
from segresnet.model import build_model, load_init, logits_of, predict_probabilities
from segresnet.regions import Regions

log = logging.getLogger("segresnet")


def read_cases(folder: Path, regions: Regions, role: str) -> tuple[list[tuple[str, np.ndarray, np.ndarray]], int]:
    meta = read_dataset_json(folder)
    ending, n_channels = meta["file_ending"], len(meta["channel_names"])
    names = list_cases(folder / "imagesTr", ending)
    if not names:
        raise MethodError(f"{role} {folder}: no cases (*_0000{ending}) in {folder / 'imagesTr'}")
    cases = []
    for name in names:
        image, _ = read_image(folder / "imagesTr", name, n_channels, ending)
        label = read_label(folder / "labelsTr", name, ending, image.shape[1:], regions.label_values)
        cases.append((name, image, regions.to_masks(label)))
    return cases, n_channels


def region_dice(probs: np.ndarray, masks: np.ndarray, threshold: float) -> list[float]:
    """Per region: Dice of the thresholded probabilities (1.0 when both are empty)."""
    scores = []
    for p, g in zip(probs > threshold, masks > 0.5, strict=True):
        total = int(p.sum()) + int(g.sum())
        scores.append(1.0 if total == 0 else 2.0 * int((p & g).sum()) / total)
    return scores


def train(data: Path, out: Path, val: Path | None, init: Path | None, params: dict[str, Any],
          device: torch.device) -> None:
    from monai.losses import DiceLoss

    started = time.time()
    seed = int(params["seed"])
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    meta = read_dataset_json(data)
    regions = Regions.from_meta(meta, str(data / "dataset.json"))
    n_channels = len(meta["channel_names"])
    # The model first: a refused fine-tune fails before any volume is read.
    model = build_model(params, n_channels, len(regions.names)).to(device)
    init_record = load_init(init, model)
    cases, _ = read_cases(data, regions, "--data")
    val_cases = read_cases(val, regions, "--val")[0] if val is not None else []
    parameters = sum(p.numel() for p in model.parameters() if p.requires_grad)
    use_amp = bool(params["mixed_precision"]) and device.type == "cuda"
    log.info("%d training cases, %d validation cases, %d channels, regions %s, %d parameters, device %s%s, params %s",
             len(cases), len(val_cases), n_channels, dict(zip(regions.names, regions.members, strict=True)), parameters,
             device, " with mixed precision" if use_amp else "", params)
    loss_fn = DiceLoss(smooth_nr=0, smooth_dr=1e-5, squared_pred=True, to_onehot_y=False, sigmoid=True)
    optimiser = torch.optim.Adam(model.parameters(), lr=float(params["learning_rate"]),
                                 weight_decay=float(params["weight_decay"]))
    epochs, batch = int(params["epochs"]), int(params["batch_size"])
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=max(1, epochs))
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    out.mkdir(parents=True, exist_ok=True)
    columns = ["epoch", "train_loss", *[f"val_dice_{n}" for n in regions.names if val_cases], "lr", "seconds"]
    history: list[dict[str, Any]] = []
    for epoch in range(1, epochs + 1):
        t0 = time.time()
        model.train()
        order = rng.permutation(len(cases))
        total, seen = 0.0, 0
        for begin in range(0, len(order), batch):
            pairs = [augment(cases[i][1], cases[i][2], params, rng) for i in order[begin : begin + batch]]
            x = torch.from_numpy(np.stack([p[0] for p in pairs])).to(device)
            y = torch.from_numpy(np.stack([p[1] for p in pairs])).to(device)
            with torch.autocast(device_type="cuda", dtype=torch.float16, enabled=use_amp):
                logits, vae_loss = logits_of(model, x)
                loss = loss_fn(logits.float(), y)
                if vae_loss is not None:
                    loss = loss + float(params["vae_weight"]) * vae_loss
            if not torch.isfinite(loss):
                raise MethodError(f"epoch {epoch}: the training loss is {float(loss)}; lower the learning rate",
                                  exit_code=1)
            optimiser.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimiser)
            scaler.update()
            total += float(loss.detach()) * len(pairs)
            seen += len(pairs)
        scheduler.step()
        row: dict[str, Any] = {"epoch": epoch, "train_loss": total / max(seen, 1)}
        if val_cases:
            scores = np.mean([region_dice(predict_probabilities(model, img, params, device), masks,
                                          float(params["threshold"])) for _, img, masks in val_cases], axis=0)
            row.update({f"val_dice_{n}": float(s) for n, s in zip(regions.names, scores, strict=True)})
        row.update({"lr": optimiser.param_groups[0]["lr"], "seconds": time.time() - t0})
        history.append(row)
        with (out / "history.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns)
            writer.writeheader()
            writer.writerows(history)
        log.info("epoch %d/%d loss %.4f%s (%.1f s)", epoch, epochs, row["train_loss"],
                 "".join(f" val Dice {n} {row[f'val_dice_{n}']:.3f}" for n in regions.names if val_cases),
                 row["seconds"])
    torch.save(model.state_dict(), out / "model.pt")
    if not history:
        (out / "history.csv").write_text(",".join(columns) + "\n")
    seconds = time.time() - started
    import monai

    architecture = (f"MONAI {'SegResNetVAE' if params['vae'] else 'SegResNet'} init_filters {params['init_filters']}, "
                    f"blocks_down {params['blocks_down']}, blocks_up {params['blocks_up']}, "
                    f"{len(regions.names)} sigmoid outputs ({', '.join(regions.names)})")
    (out / "model_info.json").write_text(json.dumps({
        "parameters": int(parameters), "architecture": architecture, "training_seconds": round(seconds, 1),
        "loss": "dice" + (f" + {params['vae_weight']} x VAE" if params["vae"] else ""),
        "batch_size": batch, "learning_rate": params["learning_rate"],
        "init": "fine-tuned from " + init_record["file"] if init_record else "from scratch"}, indent=2))
    (out / "config.json").write_text(json.dumps({
        "params": params, "in_channels": n_channels, "regions": regions.as_json(), "labels": meta["labels"],
        "init": init_record, "parameters": parameters, "device": str(device), "training_seconds": seconds,
        "versions": {"torch": torch.__version__, "monai": monai.__version__}}, indent=2))
    log.info("trained in %.1f s", seconds)
