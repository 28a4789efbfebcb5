"""Training of the three pipelines: Adam + ReduceLROnPlateau, seeded order and augmentation, history.

Writes into ``--out``:

    model.pt          the segmentation VNet's weights (the locator's for pipeline: locator); what a
                      fine-tune of this job starts from
    locator.pt        the locator VNet's weights (locate_crop and locator)
    config.json       params, classes, crop size, parameter counts, library versions
    model_info.json   parameters (trainable, all networks), architecture, per-network counts, training seconds
    history.csv       one row per epoch: epoch, stage (locator | segmenter), train_loss, train_dice,
                      val_dice (with --val), boundary_weight, lr, seconds
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch
from segarena_kit import MethodError
from segarena_kit.common_format import write_history

from vnet.augment import Augmenter
from vnet.crop import (
    add_buffer,
    bounding_box,
    crop_size_for,
    downscale_image,
    downscale_label,
    extract,
    place_crop,
    round_up,
)
from vnet.data import Case, read_training_cases
from vnet.inference import predict_direct, predict_locate_crop, predict_locator
from vnet.losses import SegLoss, boundary_start, distance_maps, hybrid_weight
from vnet.network import VNet, build_vnet, count_parameters

log = logging.getLogger("vnet")
HISTORY_COLUMNS = ["epoch", "stage", "train_loss", "train_dice", "val_dice", "boundary_weight", "lr", "seconds"]

Sample = tuple[np.ndarray, np.ndarray, tuple[float, float, float]]  # image (C,D,H,W), classes, spacing


def hard_dice(prediction: np.ndarray, reference: np.ndarray, n_classes: int) -> float:
    """Mean over the foreground classes present in either map (1.0 when none is)."""
    scores = []
    for k in range(1, n_classes):
        p, r = prediction == k, reference == k
        total = int(p.sum()) + int(r.sum())
        if total:
            scores.append(2.0 * int((p & r).sum()) / total)
    return float(np.mean(scores)) if scores else 1.0


# ------------------------------------------------------------------------------------ training samples


def training_box(label: np.ndarray, buffer: list[int]) -> tuple[tuple[int, int], ...]:
    """The reference structure's box widened by ``buffer`` (a case without foreground: its centre voxel)."""
    box = bounding_box(label > 0)
    if box is None:
        return tuple((s // 2, s // 2 + 1) for s in label.shape)
    return add_buffer(box, buffer, label.shape)


def crop_samples(cases: list[Case], buffer: list[int], crop_size: tuple[int, ...] | None = None
                 ) -> tuple[list[Sample], tuple[int, ...], list[tuple[int, ...]]]:
    """The segmenter's training crops: one per case, all of the largest box's size, each containing its
    whole reference structure (and ``buffer``). Returns the samples, the crop size and each crop's start."""
    boxes = [training_box(c.label, buffer) for c in cases]  # type: ignore[arg-type]
    size = crop_size or crop_size_for(boxes)
    samples, starts = [], []
    for case, box in zip(cases, boxes, strict=True):
        start = place_crop(box, size, case.label.shape)  # type: ignore[union-attr]
        starts.append(start)
        samples.append((extract(case.image, start, size), extract(case.label, start, size), case.spacing_mm))
    return samples, tuple(size), starts


def locator_samples(cases: list[Case], scale: list[float], n_classes: int) -> tuple[list[Sample], tuple[int, ...]]:
    """Down-scaled volumes, zero-padded to one common size (multiples of 16) so that they batch."""
    small = [(downscale_image(c.image, scale), downscale_label(c.label, scale, n_classes),  # type: ignore[arg-type]
              tuple(s / f for s, f in zip(c.spacing_mm, scale, strict=True))) for c in cases]
    size = tuple(round_up(max(s[1].shape[a] for s in small)) for a in range(3))
    return [(extract(i, (0, 0, 0), size), extract(lab, (0, 0, 0), size), sp) for i, lab, sp in small], size


def patch_sampler(cases: list[Case], patch: list[int]) -> Callable[[int, np.random.Generator], Sample]:
    """Random patches of ``patch`` (half of them centred on a foreground voxel), volumes padded to fit."""
    def sample(index: int, rng: np.random.Generator) -> Sample:
        case = cases[index % len(cases)]
        label = case.label
        assert label is not None
        shape = label.shape
        foreground = np.argwhere(label > 0)
        if len(foreground) and rng.random() < 0.5:
            centre = foreground[int(rng.integers(len(foreground)))]
        else:
            centre = np.array([int(rng.integers(s)) for s in shape])
        start = [int(min(max(c - p // 2, 0), max(s - p, 0))) for c, p, s in zip(centre, patch, shape, strict=True)]
        return extract(case.image, start, patch), extract(label, start, patch), case.spacing_mm
    return sample


# ------------------------------------------------------------------------------------ the loop


class Stage:
    """One network's training: its loss, optimiser, plateau scheduler and the boundary schedule."""

    def __init__(self, name: str, model: VNet, params: dict[str, Any], loss: SegLoss, lr: float, patience: int,
                 factor: float, epochs: int, batch_size: int, n_classes: int, device: torch.device) -> None:
        self.name, self.model, self.params, self.loss = name, model, params, loss
        self.epochs, self.batch_size, self.n_classes, self.device = epochs, batch_size, n_classes, device
        self.optimiser = torch.optim.Adam(model.parameters(), lr=lr)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(self.optimiser, mode="max", patience=patience,
                                                                    factor=factor)

    def run(self, n_samples: int, get_sample: Callable[[int, np.random.Generator], Sample],
            validate: Callable[[], float] | None, augmenter: Augmenter, seed: int, history: list[dict[str, Any]],
            on_epoch: Callable[[], None]) -> list[float]:
        rng = np.random.default_rng(seed)
        dice_by_epoch: list[float] = []
        first_epoch = len(history)
        for epoch in range(1, self.epochs + 1):
            started = time.time()
            start_epoch = boundary_start(dice_by_epoch, int(self.params["boundary_from_epoch"]),
                                         float(self.params["boundary_dice_threshold"]))
            weight = hybrid_weight(epoch, start_epoch, float(self.params["boundary_step"]),
                                   float(self.params["boundary_max_weight"])) if self.loss.kind == "hybrid" else 0.0
            self.model.train()
            order = rng.permutation(n_samples)
            total, seen, dices = 0.0, 0, []
            for begin in range(0, n_samples, self.batch_size):
                batch = [get_sample(int(i), rng) for i in order[begin : begin + self.batch_size]]
                pairs = [augmenter(img, lab, int(rng.integers(2**31))) for img, lab, _ in batch]
                x = torch.from_numpy(np.stack([p[0] for p in pairs])).to(self.device)
                y = torch.from_numpy(np.stack([p[1] for p in pairs]).astype(np.int64)).to(self.device)
                dist = None
                if self.loss.needs_distance and (self.loss.kind == "boundary" or weight > 0):
                    dist = torch.from_numpy(np.stack([distance_maps(p[1], self.n_classes, s[2])
                                                      for p, s in zip(pairs, batch, strict=True)])).to(self.device)
                logits = self.model(x)
                loss = self.loss(logits, y, dist, weight)
                if not torch.isfinite(loss):
                    raise MethodError(f"{self.name} epoch {epoch}: the training loss is {float(loss)}; lower "
                                      "the learning rate", exit_code=1)
                self.optimiser.zero_grad(set_to_none=True)
                loss.backward()
                self.optimiser.step()
                total += float(loss.detach()) * len(batch)
                seen += len(batch)
                predicted = logits.detach().argmax(1).cpu().numpy()
                dices += [hard_dice(p, r, self.n_classes) for p, r in zip(predicted, y.cpu().numpy(), strict=True)]
            train_dice = float(np.mean(dices))
            val_dice = validate() if validate is not None else float("nan")
            monitored = train_dice if validate is None else val_dice
            dice_by_epoch.append(monitored)
            self.scheduler.step(monitored)
            row = {"epoch": first_epoch + epoch, "stage": self.name, "train_loss": total / max(seen, 1),
                   "train_dice": train_dice, "val_dice": val_dice, "boundary_weight": weight,
                   "lr": self.optimiser.param_groups[0]["lr"], "seconds": time.time() - started}
            history.append(row)
            on_epoch()
            log.info("%s epoch %d/%d loss %.4f train Dice %.3f%s%s (%.1f s)", self.name, epoch, self.epochs,
                     row["train_loss"], train_dice, "" if validate is None else f" val Dice {val_dice:.3f}",
                     f" boundary weight {weight:.3f}" if self.loss.kind == "hybrid" else "", row["seconds"])
        return dice_by_epoch


def load_init(init: Path | None, model: torch.nn.Module) -> dict[str, Any] | None:
    """Fine-tune: start the segmentation VNet from ``init``'s model.pt (tensors of another shape stay new)."""
    if init is None:
        return None
    try:
        record = json.loads((init / "init.json").read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MethodError(f"--init {init}: cannot read init.json ({err})") from err
    if record.get("kind") != "finetune" or not record.get("file"):
        raise MethodError(f"--init {init}: init.json {record} is not supported; vnet fine-tunes from a vnet "
                          "model.pt (kind finetune) and has no ImageNet weights")
    path = init / str(record["file"])
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable weights file is the user's input error
        raise MethodError(f"--init {path}: cannot read a PyTorch state dict ({err})") from err
    own = model.state_dict()
    kept = {k: v for k, v in state.items() if k in own and own[k].shape == v.shape}
    fresh = sorted(set(own) - set(kept))
    if not kept:
        raise MethodError(f"--init {path}: none of its tensors fits this VNet (other base_filters or num_layers?)")
    model.load_state_dict({**own, **kept})
    if fresh:
        log.info("fine-tune: %d tensors from %s, %d re-initialised (other shape or absent): %s", len(kept), path.name,
                 len(fresh), ", ".join(fresh[:6]))
    return {"kind": "finetune", "file": path.name, "loaded": len(kept), "reinitialised": fresh}


def versions() -> dict[str, str]:
    import monai

    return {"torch": torch.__version__, "monai": monai.__version__}


def train(data: Path, out: Path, val: Path | None, init: Path | None, params: dict[str, Any],
          device: torch.device) -> None:
    started = time.time()
    seed = int(params["seed"])
    torch.manual_seed(seed)
    np.random.seed(seed)
    cases, meta, values = read_training_cases(data, "--data")
    val_cases = read_training_cases(val, "--val")[0] if val is not None else []
    in_channels, n_classes = len(meta["channel_names"]), len(values)
    pipeline = params["pipeline"]
    scale, buffer = [float(s) for s in params["locator_scale"]], [int(b) for b in params["crop_buffer"]]
    log.info("%d training cases, %d validation cases, classes %s, pipeline %s, device %s, params %s", len(cases),
             len(val_cases), values, pipeline, device, params)
    out.mkdir(parents=True, exist_ok=True)
    augmenter = Augmenter(params)
    history: list[dict[str, Any]] = []

    def save_history() -> None:
        write_history(out / "history.csv", history, HISTORY_COLUMNS)

    counts: dict[str, int] = {}
    locator = None
    if pipeline in ("locator", "locate_crop"):
        locator = VNet(in_channels, n_classes, int(params["locator_base_filters"]), int(params["num_layers"]),
                       str(params["norm"])).to(device)
        counts["locator"] = count_parameters(locator)
        if pipeline == "locator":
            load_init(init, locator)
        samples, locator_size = locator_samples(cases, scale, n_classes)
        log.info("locator: %d volumes down-scaled by %s to %s (padded)", len(samples), scale, locator_size)
        validate = None
        if val_cases:
            def validate() -> float:
                locator.eval()
                return float(np.mean([hard_dice(predict_locator(locator, c.image, scale, device), c.label, n_classes)
                                      for c in val_cases]))
        stage = Stage("locator", locator, params, SegLoss({**params, "loss": "dice"}),
                      float(params["locator_learning_rate"]), int(params["locator_patience"]),
                      float(params["locator_lr_factor"]), int(params["locator_epochs"]),
                      int(params["locator_batch_size"]), n_classes, device)
        stage.run(len(samples), lambda i, rng: samples[i], validate, augmenter, seed, history, save_history)
        torch.save(locator.state_dict(), out / "locator.pt")

    crop_size: tuple[int, ...] | None = None
    segmenter = None
    init_record = None
    if pipeline in ("direct", "locate_crop"):
        segmenter = build_vnet(params, in_channels, n_classes).to(device)
        counts["segmenter"] = count_parameters(segmenter)
        init_record = load_init(init, segmenter)
        if pipeline == "locate_crop":
            crops, crop_size, _ = crop_samples(cases, buffer)
            log.info("segmenter: %d training crops of %s (reference box + buffer %s)", len(crops), crop_size, buffer)
            n_samples, get_sample = len(crops), (lambda i, rng: crops[i])
        else:
            patch = [int(p) for p in params["patch_size"]]
            n_samples, get_sample = len(cases), patch_sampler(cases, patch)
        validate = None
        if val_cases:
            def validate() -> float:
                segmenter.eval()
                if pipeline == "direct":
                    preds = [predict_direct(segmenter, c.image, params["patch_size"], device) for c in val_cases]
                else:
                    assert locator is not None and crop_size is not None
                    locator.eval()
                    preds = [predict_locate_crop(locator, segmenter, c.image, scale, buffer, crop_size, device, c.name)
                             for c in val_cases]
                return float(np.mean([hard_dice(p, c.label, n_classes) for p, c in zip(preds, val_cases, strict=True)]))
        stage = Stage("segmenter", segmenter, params, SegLoss(params), float(params["learning_rate"]),
                      int(params["lr_patience"]), float(params["lr_factor"]), int(params["epochs"]),
                      int(params["batch_size"]), n_classes, device)
        stage.run(n_samples, get_sample, validate, augmenter, seed + 1, history, save_history)
        torch.save(segmenter.state_dict(), out / "model.pt")
    elif locator is not None:
        torch.save(locator.state_dict(), out / "model.pt")
    save_history()

    seconds = time.time() - started
    architecture = (f"VNet 5x5x5/PReLU, base_filters {params['base_filters']}, num_layers {params['num_layers']}, "
                    f"norm {params['norm']}, attention {params['attention']}"
                    + (f" (BAM r{params['bam_reduction']} d{params['bam_dilation']})" if params["attention"] == "bam"
                       else "") + f", loss {params['loss']}, pipeline {pipeline}")
    info = {"parameters": int(sum(counts.values())), "architecture": architecture,
            **{f"{k}_parameters": v for k, v in counts.items()}, "training_seconds": round(seconds, 1),
            "loss": params["loss"], "batch_size": params["batch_size"], "learning_rate": params["learning_rate"]}
    if crop_size is not None:
        info["crop_size"] = list(crop_size)
    (out / "model_info.json").write_text(json.dumps(info, indent=2))
    config = {"params": params, "in_channels": in_channels, "n_classes": n_classes, "label_values": values,
              "labels": meta["labels"], "crop_size": list(crop_size) if crop_size else None,
              "parameters": counts, "init": init_record, "device": str(device), "versions": versions(),
              "training_seconds": seconds}
    (out / "config.json").write_text(json.dumps(config, indent=2))
    log.info("trained in %.1f s; parameters %s", seconds, counts)
