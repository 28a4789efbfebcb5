"""Threshold baseline: Otsu on each slice, the bright blob nearest the image centre is the LV.

    main.py train   --data DIR --out DIR [--params FILE]      (no learning: stores the params)
    main.py predict --images DIR --model DIR --out DIR

Needs only numpy, scipy and SimpleITK (runs in a small Debian-packages image).
Labels follow the canonical cardiac map: 1 LV blood pool, 2 myocardium, 3 RV.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from scipy import ndimage

DEFAULTS = {"myocardium_width_mm": 8.0, "rv_max_gap_mm": 12.0}


def otsu_threshold(values: np.ndarray, bins: int = 128) -> float:
    hist, edges = np.histogram(values, bins=bins)
    centres = (edges[:-1] + edges[1:]) / 2
    weight_lo = np.cumsum(hist)
    weight_hi = weight_lo[-1] - weight_lo
    mean_lo = np.cumsum(hist * centres) / np.maximum(weight_lo, 1)
    mean_hi = (np.sum(hist * centres) - np.cumsum(hist * centres)) / np.maximum(weight_hi, 1)
    between = weight_lo * weight_hi * (mean_lo - mean_hi) ** 2
    return float(centres[int(np.argmax(between))])


def segment_slice(image: np.ndarray, spacing_yx: tuple[float, float], params: dict) -> np.ndarray:
    out = np.zeros(image.shape, np.uint8)
    smooth = ndimage.gaussian_filter(image.astype(np.float32), 1.0)
    # two-level Otsu: air | (tissue, myocardium) | blood
    body = smooth[smooth > otsu_threshold(smooth.ravel())]
    if body.size == 0:
        return out
    bright = smooth > otsu_threshold(body)
    bright = ndimage.binary_opening(bright, iterations=2)
    components, n = ndimage.label(bright)
    if n == 0:
        return out
    centre = np.array(image.shape) / 2
    best, best_score = 0, np.inf
    for index, region in enumerate(ndimage.find_objects(components), start=1):
        mask = components[region] == index
        area = int(mask.sum())
        if area < 20:
            continue
        ys, xs = np.nonzero(mask)
        cy, cx = ys.mean() + region[0].start, xs.mean() + region[1].start
        extent = area / mask.size  # a round blob fills ~0.785 of its box
        score = np.hypot(cy - centre[0], cx - centre[1]) * (1.5 - min(extent, 0.785))
        if score < best_score:
            best, best_score = index, score
    if best == 0:
        return out
    lv = ndimage.binary_fill_holes(components == best)
    ring_px = params["myocardium_width_mm"] / float(np.mean(spacing_yx))
    distance_out = ndimage.distance_transform_edt(~lv, sampling=None)
    myo = (distance_out > 0) & (distance_out <= ring_px) & ~bright
    rv_gap_px = params["rv_max_gap_mm"] / float(np.mean(spacing_yx))
    for index in range(1, n + 1):
        if index == best:
            continue
        component = components == index
        if component.sum() > 30 and distance_out[component].min() <= rv_gap_px:
            out[component] = 3
            break
    out[myo] = 2
    out[lv] = 1
    return out


def train(args: argparse.Namespace) -> None:
    params = dict(DEFAULTS)
    if args.params:
        params.update(json.loads(Path(args.params).read_text()))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "params.json").write_text(json.dumps(params, indent=2))
    print(f"threshold_baseline: nothing to learn; stored params {params}", flush=True)


def predict(args: argparse.Namespace) -> None:
    params = json.loads((Path(args.model) / "params.json").read_text())
    images, out = Path(args.images), Path(args.out)
    meta = json.loads((images / "dataset.json").read_text())
    ending = meta["file_ending"]
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(images.glob(f"*_0000{ending}")):
        case = path.name[: -len(ending) - 5]
        image = sitk.ReadImage(str(path))
        array = sitk.GetArrayFromImage(image)
        spacing_yx = tuple(reversed(image.GetSpacing()[:2]))
        if array.ndim == 2:
            mask = segment_slice(array, spacing_yx, params)
        else:
            mask = np.stack([segment_slice(s, spacing_yx, params) for s in array])
        result = sitk.GetImageFromArray(mask)
        result.CopyInformation(image)
        sitk.WriteImage(result, str(out / f"{case}{ending}"), useCompression=True)
        print(f"threshold_baseline: predicted {case}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="threshold_baseline")
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
