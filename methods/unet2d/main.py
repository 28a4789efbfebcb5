"""2D U-Net method: train and predict under the SegArena contract.

    main.py train   --data DIR --out DIR [--val DIR] [--init DIR] [--params FILE]
    main.py predict --images DIR --model DIR --out DIR

Runs inside the method's container (or as a local subprocess): it imports
only torch, segmentation-models-pytorch, SimpleITK and numpy, never the harness.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import sys
import time
from pathlib import Path

import numpy as np
import SimpleITK as sitk
import torch
import torch.nn.functional as F

DEFAULTS = {"encoder": "resnet34", "epochs": 8, "batch_size": 16, "learning_rate": 1e-3, "image_size": 128,
            "seed": 0, "max_slices_per_epoch": 0}


def log(message: str) -> None:
    print(f"[unet2d {time.strftime('%H:%M:%S')}] {message}", flush=True)


def load_params(path: str | None) -> dict:
    params = dict(DEFAULTS)
    if path:
        params.update(json.loads(Path(path).read_text()))
    if os.environ.get("SEGARENA_SEED"):
        params["seed"] = int(os.environ["SEGARENA_SEED"])
    return params


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def normalise(volume: np.ndarray) -> np.ndarray:
    """Per-volume z-score on the 1st-99th percentile range (robust to the bias field's extremes)."""
    lo, hi = np.percentile(volume, [1, 99])
    clipped = np.clip(volume, lo, hi)
    return ((clipped - clipped.mean()) / (clipped.std() + 1e-6)).astype(np.float32)


def letterbox(slices: torch.Tensor, size: int, mode: str) -> tuple[torch.Tensor, tuple[int, int, int, int]]:
    """Scale the longer side to ``size`` and zero-pad the rest (N, C, H, W)."""
    h, w = slices.shape[-2:]
    scale = size / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    kwargs = {"align_corners": False} if mode == "bilinear" else {}
    resized = F.interpolate(slices, size=(nh, nw), mode=mode, **kwargs)
    top, left = (size - nh) // 2, (size - nw) // 2
    out = torch.zeros((*slices.shape[:2], size, size), dtype=slices.dtype)
    out[..., top : top + nh, left : left + nw] = resized
    return out, (top, left, nh, nw)


def read_case_channels(folder: Path, case: str, n_channels: int, ending: str) -> tuple[np.ndarray, sitk.Image]:
    images = [sitk.ReadImage(str(folder / f"{case}_{c:04d}{ending}")) for c in range(n_channels)]
    arrays = [normalise(sitk.GetArrayFromImage(im).astype(np.float32)) for im in images]
    stacked = np.stack(arrays, axis=0)  # (C, Z, Y, X) or (C, Y, X)
    if stacked.ndim == 3:
        stacked = stacked[:, None]
    return stacked, images[0]


def build_model(encoder: str, in_channels: int, classes: int) -> torch.nn.Module:
    import segmentation_models_pytorch as smp

    return smp.Unet(encoder_name=encoder, encoder_weights=None, in_channels=in_channels, classes=classes)


def list_cases(folder: Path, ending: str) -> list[str]:
    return sorted({p.name[: -len(ending) - 5] for p in folder.glob(f"*_0000{ending}")})


def load_training_slices(data: Path, size: int) -> tuple[torch.Tensor, torch.Tensor, dict]:
    meta = json.loads((data / "dataset.json").read_text())
    ending = meta["file_ending"]
    n_channels = len(meta["channel_names"])
    xs, ys = [], []
    cases = list_cases(data / "imagesTr", ending)
    if not cases:
        raise SystemExit(f"no training cases in {data / 'imagesTr'}")
    for case in cases:
        image, _ = read_case_channels(data / "imagesTr", case, n_channels, ending)
        label = sitk.GetArrayFromImage(sitk.ReadImage(str(data / "labelsTr" / f"{case}{ending}")))
        if label.ndim == 2:
            label = label[None]
        x = torch.from_numpy(image).permute(1, 0, 2, 3)  # (Z, C, Y, X)
        y = torch.from_numpy(label.astype(np.int64))[:, None].float()
        x, _ = letterbox(x, size, "bilinear")
        y, _ = letterbox(y, size, "nearest")
        xs.append(x)
        ys.append(y[:, 0].long())
    return torch.cat(xs), torch.cat(ys), meta


def dice_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    probs = logits.softmax(1)
    onehot = F.one_hot(target, probs.shape[1]).permute(0, 3, 1, 2).float()
    inter = (probs * onehot).sum((0, 2, 3))
    denom = probs.sum((0, 2, 3)) + onehot.sum((0, 2, 3))
    return 1 - ((2 * inter + 1) / (denom + 1))[1:].mean()


def augment(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Random flips, 90-degree rotations and intensity scaling, per batch."""
    if random.random() < 0.5:
        x, y = x.flip(-1), y.flip(-1)
    if random.random() < 0.5:
        x, y = x.flip(-2), y.flip(-2)
    k = random.randint(0, 3)
    x, y = torch.rot90(x, k, (-2, -1)), torch.rot90(y, k, (-2, -1))
    x = x * (1 + 0.2 * (torch.rand(x.shape[0], 1, 1, 1) - 0.5)) + 0.2 * (torch.rand(x.shape[0], 1, 1, 1) - 0.5)
    return x, y


def train(args: argparse.Namespace) -> None:
    params = load_params(args.params)
    seed_everything(int(params["seed"]))
    torch.set_num_threads(int(os.environ.get("SEGARENA_THREADS", os.cpu_count() or 1)))
    size = int(params["image_size"])
    xs, ys, meta = load_training_slices(Path(args.data), size)
    classes = len(meta["labels"])
    log(f"{xs.shape[0]} training slices of {size}x{size}, {classes} classes, params {params}")
    model = build_model(params["encoder"], xs.shape[1], classes).to(device())
    if args.init:
        state = torch.load(Path(args.init) / "model.pt", map_location="cpu", weights_only=True)
        missing, unexpected = model.load_state_dict(state, strict=False)
        log(f"initialised from {args.init} (missing {len(missing)}, unexpected {len(unexpected)} keys)")
    optimiser = torch.optim.Adam(model.parameters(), lr=float(params["learning_rate"]))
    epochs, batch = int(params["epochs"]), int(params["batch_size"])
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimiser, max_lr=float(params["learning_rate"]), total_steps=max(1, epochs * ((len(xs) + batch - 1) // batch))
    )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    history = []
    generator = torch.Generator().manual_seed(int(params["seed"]))
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xs), generator=generator)
        if int(params["max_slices_per_epoch"]) > 0:
            order = order[: int(params["max_slices_per_epoch"])]
        total, n = 0.0, 0
        started = time.time()
        for start in range(0, len(order), batch):
            idx = order[start : start + batch]
            x, y = augment(xs[idx], ys[idx])
            x, y = x.to(device()), y.to(device())
            logits = model(x)
            loss = F.cross_entropy(logits, y) + dice_loss(logits, y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            if scheduler.last_epoch + 1 < scheduler.total_steps:
                scheduler.step()
            total += float(loss) * len(idx)
            n += len(idx)
        history.append({"epoch": epoch, "train_loss": total / max(n, 1), "seconds": time.time() - started})
        log(f"epoch {epoch + 1}/{epochs} loss {total / max(n, 1):.4f} ({time.time() - started:.1f} s)")
    torch.save(model.state_dict(), out / "model.pt")
    (out / "config.json").write_text(json.dumps({"params": params, "in_channels": int(xs.shape[1]),
                                                  "classes": classes, "labels": meta["labels"]}, indent=2))
    with (out / "history.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["epoch", "train_loss", "seconds"])
        writer.writeheader()
        writer.writerows(history)


@torch.no_grad()
def predict(args: argparse.Namespace) -> None:
    model_dir, images, out = Path(args.model), Path(args.images), Path(args.out)
    config = json.loads((model_dir / "config.json").read_text())
    params = config["params"]
    torch.set_num_threads(int(os.environ.get("SEGARENA_THREADS", os.cpu_count() or 1)))
    model = build_model(params["encoder"], config["in_channels"], config["classes"]).to(device())
    model.load_state_dict(torch.load(model_dir / "model.pt", map_location="cpu", weights_only=True))
    model.eval()
    meta = json.loads((images / "dataset.json").read_text())
    ending = meta["file_ending"]
    out.mkdir(parents=True, exist_ok=True)
    size = int(params["image_size"])
    cases = list_cases(images, ending)
    for i, case in enumerate(cases):
        image, reference = read_case_channels(images, case, config["in_channels"], ending)
        x = torch.from_numpy(image).permute(1, 0, 2, 3)
        h, w = x.shape[-2:]
        boxed, (top, left, nh, nw) = letterbox(x, size, "bilinear")
        logits = torch.cat([model(boxed[s : s + 32].to(device())).cpu() for s in range(0, len(boxed), 32)])
        logits = logits[..., top : top + nh, left : left + nw]
        logits = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
        mask = logits.argmax(1).numpy().astype(np.uint8)
        if reference.GetDimension() == 2:
            mask = mask[0]
        result = sitk.GetImageFromArray(mask)
        result.CopyInformation(reference)
        sitk.WriteImage(result, str(out / f"{case}{ending}"), useCompression=True)
        log(f"predicted {case} ({i + 1}/{len(cases)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="unet2d")
    sub = parser.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--val")
    t.add_argument("--init")
    t.add_argument("--params")
    p = sub.add_parser("predict")
    p.add_argument("--images", required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--params")
    args = parser.parse_args(argv)
    (train if args.command == "train" else predict)(args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
