"""The CPU twin of the cmr-seg-tl study (benchmarks/cmr_seg_tl_demo.yaml) with the real unet2d.

The study file is run as shipped except for its sizes (fewer phantoms, one short epoch, 32-pixel
slices) and its paths: regimes R / TL / TL2 × subsets all / n3 / n1 / esed on the 7T-like domain,
TL2 fine-tuned from the model trained on the standard domain, TL from an ImageNet-layout ResNet34
file the test creates (torchvision's architecture, random weights: no download is possible here).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from harness.config import load_benchmark
from harness.runner import run_benchmark
from harness.settings import repo_root

pytestmark = pytest.mark.slow

REGIMES = ("R", "TL", "TL2")
SUBSETS = ("all", "n3", "n1", "esed")


def shrunk_study(folder: Path) -> Path:
    import torchvision

    spec = yaml.safe_load((repo_root() / "benchmarks" / "cmr_seg_tl_demo.yaml").read_text())
    weights = folder / "weights" / "resnet34-imagenet.pth"
    weights.parent.mkdir(parents=True)
    torch.manual_seed(0)
    torch.save(torchvision.models.resnet34(weights=None).state_dict(), weights)
    # the transfer matrix only: stage 1 (kaggle_like labelled by ukbb_fcn) is tests/methods/test_ukbb_fcn_twin.py
    spec["datasets"] = [d for d in spec["datasets"] if "labels_from" not in d]
    spec["methods"] = [m for m in spec["methods"] if m["name"] == "unet2d"]
    spec["factors"]["regimes"] = [{**r, "methods": ["unet2d"]} for r in spec["factors"]["regimes"] if r["name"] != "UKBB"]
    spec["factors"]["subsets"] = [s for s in spec["factors"]["subsets"] if "confidence" not in s]
    spec["datasets"][0]["options"].update({"subjects": 5, "frames": 2})
    spec["datasets"][1]["options"].update({"subjects": 6, "frames": 2})
    spec["methods"][0]["params"].update({"epochs": 1, "batch_size": 4, "image_size": 32, "max_slices_per_epoch": 8})
    for regime in spec["factors"]["regimes"]:
        if regime["name"] == "TL":
            regime["weights"] = str(weights)
    spec["run_dir"] = str(folder / "run")
    spec["report"]["out"] = str(folder / "report")
    path = folder / "study.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_regime_by_subset_matrix_with_the_real_unet2d(tmp_path: Path) -> None:
    bench = load_benchmark(shrunk_study(tmp_path))
    summary = run_benchmark(bench)
    assert summary.ok, summary.failed

    with sqlite3.connect(summary.run_dir / "store.sqlite") as db:
        rows = db.execute("SELECT name, key, output FROM jobs WHERE name LIKE 'train %'").fetchall()
    trains = {name: (key, json.loads(output or "{}")) for name, key, output in rows}
    # base domain: R × all; target: 3 regimes × 4 subsets
    assert len(trains) == 1 + len(REGIMES) * len(SUBSETS), sorted(trains)
    base_key, base = trains["train unet2d on base_domain regime R subset all fold 0 seed 0"]

    def target(regime: str, subset: str) -> dict:
        return trains[f"train unet2d on target_7t regime {regime} subset {subset} fold 0 seed 0"][1]

    # Subsets: n subjects, and ED/ES frames only (2 frames per phantom subject here, so all its cases).
    n_all = target("R", "all")["n_training_subjects"]
    assert n_all == 4 and target("R", "n3")["n_training_subjects"] == 3
    assert target("TL2", "n1")["n_training_subjects"] == 1
    assert target("R", "esed")["n_training_subjects"] == n_all
    # Lineage: TL2 starts from the base-domain model, by job key, with the hash of the weights it got.
    for subset in SUBSETS:
        init = target("TL2", subset)["init"]
        assert init["kind"] == "finetune" and init["base_job"] == base_key and init["base_dataset"] == "base_domain"
        assert init["weights_sha256"]
    base_weights = hashlib.sha256((Path(base["model"]) / "model.pt").read_bytes()).hexdigest()
    tl2_config = json.loads((Path(target("TL2", "all")["model"]) / "config.json").read_text())
    assert tl2_config["init"]["kind"] == "finetune" and tl2_config["init"]["sha256"] == base_weights
    tl_config = json.loads((Path(target("TL", "n3")["model"]) / "config.json").read_text())
    assert tl_config["init"]["kind"] == "imagenet" and tl_config["init"]["loaded_tensors"] > 100
    scratch = target("R", "all")["init"]  # the typed lineage stores every field; a scratch model has none set
    assert scratch["kind"] == "scratch" and not any(value for key, value in scratch.items() if key != "kind"), scratch

    # Every cell of the matrix was predicted and scored on the same target test subjects.
    frames = [pd.read_csv(p) for p in sorted((summary.run_dir / "jobs" / "evaluate").glob("*/metrics.csv"))]
    metrics = pd.concat(frames)
    dice = metrics[(metrics["dataset"] == "target_7t") & (metrics["metric"] == "dice")]
    cells = dice.groupby(["regime", "subset"])["case"].nunique()
    assert set(cells.index) == {(r, s) for r in REGIMES for s in SUBSETS}
    assert cells.nunique() == 1  # same test cases in every cell
    assert dice["value"].between(0, 1).all()

    html = summary.report.read_text()
    assert "regimes × training subsets" in html
    assert "fine-tuned from job " + base_key[:12] in html
    for name in (*REGIMES, *SUBSETS):
        assert f">{name}<" in html
