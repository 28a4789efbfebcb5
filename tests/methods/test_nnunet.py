"""nnunet runs real nnU-Net v2 inside the contract: SegArena's split goes in, scored predictions come out."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from harness.common.dataset import CommonDataset
from harness.config import load_benchmark
from harness.factors.splits import Splits
from harness.runner import run_benchmark
from harness.settings import repo_root
from harness.store.sqlite import Store

METHOD = repo_root() / "methods" / "nnunet"

# The tested CPU settings (../shared/notes/stack.md) and one short epoch: about a minute of training on 2 cores.
FAST = ("{fast_cpu: true, disable_tta: true, final_validation: false, epochs: 1, iterations_per_epoch: 100, "
        "val_iterations: 2, batch_size: 2}")
BENCHMARK = f"""\
datasets:
  - name: demo_cine
    options: {{subjects: 6, frames: 2}}
factors:
  split: {{kind: holdout, test_fraction: 0.25, val_fraction: 0.25}}
methods:
  - name: nnunet
    params: {FAST}
"""


def _split_cases(run_dir: Path) -> tuple[list[str], list[str]]:
    """SegArena's training and validation cases of fold 0, from the split job's own output."""
    store = Store(run_dir / "store.sqlite")
    try:
        split = next(r.output for r in store.all() if r.kind == "split")
    finally:
        store.close()
    dataset = CommonDataset.open(Path(split["dataset_path"]))
    fold = Splits.read(Path(split["path"])).folds[0]
    assert fold.val, "the benchmark must define a validation split"

    def cases(groups: tuple[str, ...]) -> list[str]:
        return sorted(r.case for r in dataset.cases if r.has_label and (r.group or r.subject) in groups)

    return cases(fold.train), cases(fold.val)


@pytest.mark.slow
def test_nnunet_trains_on_segarenas_split_and_is_scored(write_benchmark, monkeypatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    summary = run_benchmark(load_benchmark(write_benchmark(BENCHMARK)))
    assert summary.ok, summary.failed

    metrics = pd.read_csv(summary.report.parent / "metrics.csv")
    ours = metrics[metrics["method"] == "nnunet"]
    assert not ours.empty and (ours["status"] == "ok").all(), ours[ours["status"] != "ok"]
    lv = ours[(ours["label"] == "LV") & (ours["metric"] == "dice")]["value"]
    assert len(lv) == 4  # 2 test subjects x 2 frames
    assert lv.mean() > 0.75, lv.tolist()  # measured 0.91 (min 0.87) with these settings

    (model,) = [d / "model" for d in (summary.run_dir / "jobs" / "train").iterdir()]
    train_cases, val_cases = _split_cases(summary.run_dir)
    assert json.loads((model / "splits_final.json").read_text()) == [{"train": train_cases, "val": val_cases}]
    config = json.loads((model / "config.json").read_text())
    assert (config["train_cases"], config["val_cases"]) == (train_cases, val_cases)
    assert config["params"]["iterations_per_epoch"] == 100
    assert (model / "nnunet" / "fold_0" / "checkpoint_final.pth").is_file()
    assert (model / "trainer" / "nnUNetTrainerSegArena.py").is_file()
    history = pd.read_csv(model / "history.csv")
    assert list(history["epoch"]) == [1] and {"train_loss", "val_dice_LV"} <= set(history.columns)


def _run(*args: str, env: dict[str, str] | None = None, timeout_s: int = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(METHOD / "main.py"), *args], capture_output=True, text=True,
                          env=env, timeout=timeout_s)


REGIONS = {"background": 0, "WT": [1, 2, 3], "TC": [2, 3], "ET": [3]}  # BraTS-style nested regions


def _write_region_case(folder: Path, case: str, rng: np.random.Generator, labels: Path) -> None:
    """Two channels and nested labels ED (1) > NCR (2) > ET (3): concentric discs, 4 slices of 40 x 40."""
    yy, xx = np.mgrid[:40, :40]
    cy, cx = rng.uniform(14, 26, 2)
    disc = (yy - cy) ** 2 + (xx - cx) ** 2
    label = np.zeros((4, 40, 40), np.uint8)
    label[:, disc <= 100], label[:, disc <= 36], label[:, disc <= 9] = 1, 2, 3

    def image(array: np.ndarray) -> sitk.Image:
        result = sitk.GetImageFromArray(array)
        result.SetSpacing((1.0, 1.0, 3.0))
        result.SetOrigin((1.0, 2.0, 3.0))
        return result

    images = folder / "imagesTr" if labels.parent == folder else folder
    images.mkdir(parents=True, exist_ok=True)
    for channel, gain in enumerate((100.0, 50.0)):
        noisy = (label * gain + rng.normal(0, 10, label.shape)).astype(np.float32)
        sitk.WriteImage(image(noisy), str(images / f"{case}_{channel:04d}.nii.gz"))
    labels.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image(label), str(labels / f"{case}.nii.gz"))


def _write_region_dataset(folder: Path, cases: list[str], rng: np.random.Generator, truth: Path | None = None) -> None:
    """A training folder (imagesTr/, labelsTr/, cases.csv) or, with ``truth``, a flat images folder."""
    with_label = truth is None
    for case in cases:
        _write_region_case(folder, case, rng, folder / "labelsTr" if with_label else truth)
    meta = {"name": "regions", "channel_names": {"0": "T1", "1": "FLAIR"}, "labels": REGIONS,
            "regions_class_order": [1, 2, 3], "segarena_label_map": {"background": 0, "ED": 1, "NCR": 2, "ET": 3},
            "numTraining": len(cases) if with_label else 0, "file_ending": ".nii.gz"}
    (folder / "dataset.json").write_text(json.dumps(meta))
    if with_label:
        with (folder / "cases.csv").open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["case", "subject", "group"])
            writer.writeheader()
            writer.writerows({"case": c, "subject": c[:5], "group": c[:5]} for c in cases)


@pytest.mark.slow
def test_regions_pass_through_to_nnunet_and_come_back_as_a_label_map(tmp_path: Path) -> None:
    """Without --val: a patient-grouped val set is carved; nnU-Net trains on regions; predict writes label values."""
    rng = np.random.default_rng(0)
    data, images, truth, model, out = (tmp_path / n for n in ("data", "images", "truth", "model", "predictions"))
    _write_region_dataset(data, [f"br00{s}_f{f}" for s in range(4) for f in range(2)], rng)
    _write_region_dataset(images, ["bt000_f0"], rng, truth=truth)
    (tmp_path / "params.json").write_text(json.dumps({
        "fast_cpu": True, "disable_tta": True, "epochs": 1, "iterations_per_epoch": 20, "val_iterations": 2,
        "val_fraction": 0.25}))
    env = {**os.environ, "SEGARENA_SEED": "3", "SEGARENA_THREADS": "2", "CUDA_VISIBLE_DEVICES": ""}
    model.mkdir()
    trained = _run("train", "--data", str(data), "--out", str(model), "--params", str(tmp_path / "params.json"),
                   env=env, timeout_s=600)
    assert trained.returncode == 0, trained.stdout[-3000:] + trained.stderr[-3000:]

    (split,) = json.loads((model / "splits_final.json").read_text())
    val_subjects = {c[:5] for c in split["val"]}
    assert len(val_subjects) == 1 and len(split["val"]) == 2  # one subject, both its frames
    assert not val_subjects & {c[:5] for c in split["train"]} and len(split["train"]) == 6
    assert json.loads((model / "nnunet" / "dataset.json").read_text())["labels"] == REGIONS
    summary = json.loads((model / "config.json").read_text())["final_validation_dice"]
    assert set(summary["mean_dice"]) == {"(1, 2, 3)", "(2, 3)", "(3,)"}  # nnU-Net validated per region

    predicted = _run("predict", "--images", str(images), "--model", str(model), "--out", str(out), env=env,
                     timeout_s=300)
    assert predicted.returncode == 0, predicted.stdout[-3000:] + predicted.stderr[-3000:]
    assert sorted(p.name for p in out.iterdir()) == ["bt000_f0.nii.gz"]
    prediction = sitk.ReadImage(str(out / "bt000_f0.nii.gz"))
    reference = sitk.ReadImage(str(truth / "bt000_f0.nii.gz"))
    assert (prediction.GetSize(), prediction.GetSpacing(), prediction.GetOrigin()) == \
        (reference.GetSize(), reference.GetSpacing(), reference.GetOrigin())
    p, r = sitk.GetArrayFromImage(prediction), sitk.GetArrayFromImage(reference)
    assert set(np.unique(p).tolist()) <= {0, 1, 2, 3}
    whole = 2 * ((p > 0) & (r > 0)).sum() / ((p > 0).sum() + (r > 0).sum())
    assert whole > 0.8, whole


def test_unknown_param_fails_with_exit_code_2_before_any_work(tmp_path: Path) -> None:
    params = tmp_path / "params.json"
    params.write_text(json.dumps({"epoch": 1}))
    result = _run("train", "--data", str(tmp_path), "--out", str(tmp_path / "out"), "--params", str(params))
    assert result.returncode == 2
    assert "unknown parameter(s) epoch" in result.stderr and "epochs" in result.stderr


def test_predict_refuses_a_folder_that_is_not_an_nnunet_model(tmp_path: Path) -> None:
    result = _run("predict", "--images", str(tmp_path), "--model", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.returncode == 2
    assert "cannot read config.json" in result.stderr


def _load_cases_module():  # the method's code, imported from its folder (the harness itself never does this)
    from tests.support.method_code import import_method_module

    return import_method_module(METHOD, "segarena_nnunet.cases")


def _case_set(tmp_path: Path, groups: dict[str, str]):
    cases = _load_cases_module()
    return cases.CaseSet(tmp_path, {"file_ending": ".nii.gz", "channel_names": {"0": "x"}, "labels": {}}, groups)


def test_without_val_a_patient_grouped_val_set_is_carved_deterministically(tmp_path: Path) -> None:
    cases = _load_cases_module()
    groups = {f"s{s}_f{f}": f"s{s}" for s in range(5) for f in range(2)}
    data = _case_set(tmp_path, groups)
    split = cases.make_split(data, None, 0.2, seed=3)
    assert split == cases.make_split(data, None, 0.2, seed=3)
    assert sorted(split.train + split.val) == sorted(groups)
    val_groups = {groups[c] for c in split.val}
    assert len(val_groups) == 1 and not val_groups & {groups[c] for c in split.train}
    carved = {frozenset(groups[c] for c in cases.make_split(data, None, 0.2, seed=s).val) for s in range(10)}
    assert len(carved) > 1  # the seed chooses


def test_with_val_the_split_is_exactly_data_and_val(tmp_path: Path) -> None:
    cases = _load_cases_module()
    data = _case_set(tmp_path, {"a_f0": "a", "b_f0": "b"})
    val = _case_set(tmp_path, {"c_f0": "c"})
    split = cases.make_split(data, val, 0.2, seed=0)
    assert split.to_splits_final() == [{"train": ["a_f0", "b_f0"], "val": ["c_f0"]}]
