"""Peak memory of predict of the 3D methods on full-size volumes, on CPU (issue 11, item 3).

A full-size LA 2018 volume (88 x 640 x 640, la2018_phantom) for vnet (locate_crop, the default widths) and a
full-size BraTS 2018 case (4 x 155 x 240 x 240, brats2018_phantom) for segresnet (the default widths,
sliding windows of the default roi_size). The networks are trained for 0 epochs on two full-size phantom
cases (so the crop size is the one the real sizes give; weights are the initial ones, memory does not
depend on them), then predict runs in its own process and its peak resident memory
(``getrusage(RUSAGE_SELF).ru_maxrss``) is compared with the card's ``memory_gb``.

    PYTHONPATH=. flock /tmp/segarena-torch.lock .venv/bin/python benchmarks/memory_3d.py [--only vnet|segresnet]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from harness.datasets import DatasetRegistry, convert_dataset
from harness.settings import repo_root

CASES = {
    "vnet": ("la2018_phantom", [88, 640, 640], {"epochs": 0, "locator_epochs": 0}),
    "segresnet": ("brats2018_phantom", [155, 240, 240], {"epochs": 0}),
}
MEASURE = """
import resource, runpy, sys
sys.argv = sys.argv[1:]
try:
    runpy.run_path(sys.argv[0], run_name="__main__")
except SystemExit as exit:
    if exit.code:
        raise
print("PEAK_RSS_KB", resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


def run_measured(main: Path, *args: str | Path) -> tuple[float, float]:
    """(peak resident memory in GB, seconds) of ``main.py args`` in a fresh process."""
    env = {**os.environ, "SEGARENA_THREADS": "2", "CUDA_VISIBLE_DEVICES": "", "PYTHONWARNINGS": "ignore"}
    started = time.time()
    result = subprocess.run([sys.executable, "-c", MEASURE, str(main), *map(str, args)], capture_output=True,
                            text=True, env=env)
    seconds = time.time() - started
    if result.returncode != 0:
        raise SystemExit(f"{main} {args[0]} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    line = next(x for x in result.stdout.splitlines() if x.startswith("PEAK_RSS_KB"))
    return int(line.split()[1]) / 1024**2, seconds


def measure(method: str, work: Path) -> dict[str, object]:
    dataset, shape, params = CASES[method]
    data = convert_dataset(DatasetRegistry().adapter(dataset, {"subjects": 3, "shape": shape}), work / f"raw-{method}",
                           work / f"data-{method}").out
    meta = json.loads((data / "dataset.json").read_text())
    cases = sorted(p.name.removesuffix("_0000.nii.gz") for p in (data / "imagesTr").glob("*_0000.nii.gz"))
    train = work / f"train-{method}"
    (train / "imagesTr").mkdir(parents=True)
    (train / "labelsTr").mkdir()
    for case in cases[:-1]:
        for path in (data / "imagesTr").glob(f"{case}_*.nii.gz"):
            shutil.copy(path, train / "imagesTr" / path.name)
        shutil.copy(data / "labelsTr" / f"{case}.nii.gz", train / "labelsTr")
    (train / "dataset.json").write_text(json.dumps({**meta, "numTraining": len(cases) - 1}))
    images = work / f"images-{method}"
    images.mkdir()
    for path in (data / "imagesTr").glob(f"{cases[-1]}_*.nii.gz"):
        shutil.copy(path, images / path.name)
    (images / "dataset.json").write_text(json.dumps({**meta, "numTraining": 0}))
    main = repo_root() / "methods" / method / "main.py"
    (work / f"params-{method}.json").write_text(json.dumps(params))
    train_gb, train_s = run_measured(main, "train", "--data", train, "--out", work / f"model-{method}",
                                     "--params", work / f"params-{method}.json")
    predict_gb, predict_s = run_measured(main, "predict", "--images", images, "--model", work / f"model-{method}",
                                         "--out", work / f"pred-{method}")
    card = yaml.safe_load((repo_root() / "methods" / method / "method.yaml").read_text())
    config = json.loads((work / f"model-{method}" / "config.json").read_text())
    info = json.loads((work / f"model-{method}" / "model_info.json").read_text())
    return {"method": method, "volume": [len(meta["channel_names"]), *shape], "predict_peak_gb": round(predict_gb, 2),
            "predict_s": round(predict_s, 1), "zero_epoch_train_peak_gb": round(train_gb, 2),
            "card_memory_gb": card["resources"]["memory_gb"], "parameters": info["parameters"],
            "crop_size": config.get("crop_size"), "roi_size": config["params"].get("roi_size")}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(CASES))
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="segarena-memory3d-") as tmp:
        for method in [args.only] if args.only else list(CASES):
            row = measure(method, Path(tmp))
            verdict = "within" if row["predict_peak_gb"] <= row["card_memory_gb"] else "OVER"  # type: ignore[operator]
            print(json.dumps(row))
            print(f"{method}: predict of a {' x '.join(map(str, row['volume']))} volume peaked at "
                  f"{row['predict_peak_gb']} GB in {row['predict_s']} s on CPU, {verdict} the card's "
                  f"memory_gb {row['card_memory_gb']}")


if __name__ == "__main__":
    main()
