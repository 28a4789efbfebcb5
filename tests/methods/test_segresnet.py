"""segresnet: regions back to the label map exactly, fine-tuning from a weights file, heads of another size,
the VAE variant, and region datasets refused by the methods that cannot use them (vnet, unet2d).

train and predict run as subprocesses (``methods/segresnet/main.py``) on BraTS-layout phantoms converted
by the brats2018 format code (the ``brats2018_phantom`` dataset).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import SimpleITK as sitk
import torch

from harness.datasets import DatasetRegistry, convert_dataset
from harness.methods.card import MethodCard
from harness.settings import repo_root
from tests.support.method_code import import_method_module

METHOD_DIR = repo_root() / "methods" / "segresnet"
TINY = {"init_filters": 8, "epochs": 1, "roi_size": [16, 24, 24], "learning_rate": 0.003}


def run(method: str, *args: str | Path, params: dict | None = None, workdir: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(repo_root() / "methods" / method / "main.py"), *map(str, args)]
    if params is not None:
        path = workdir / f"params-{abs(hash(json.dumps(params, sort_keys=True)))}.json"
        path.write_text(json.dumps(params))
        command += ["--params", str(path)]
    env = {k: v for k, v in os.environ.items() if k != "SEGARENA_SEED"}
    env.update({"SEGARENA_THREADS": "2", "CUDA_VISIBLE_DEVICES": "", "PYTHONWARNINGS": "ignore", "HF_HUB_OFFLINE": "1"})
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def first_loss(model: Path) -> float:
    with (model / "history.csv").open() as handle:
        return float(next(csv.DictReader(handle))["train_loss"])


def make_init(folder: Path, model: Path) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(model / "model.pt", folder / "model.pt")
    (folder / "init.json").write_text(json.dumps({"kind": "finetune", "file": "model.pt"}))
    return folder


@pytest.fixture(scope="module")
def pkg() -> SimpleNamespace:
    return SimpleNamespace(errors=import_method_module(METHOD_DIR, "segarena_kit.errors"),
                           **{name: import_method_module(METHOD_DIR, f"segresnet.{name}") for name in ("regions", "params")})


@pytest.fixture(scope="module")
def brats(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    root = tmp_path_factory.mktemp("segresnet")
    adapter = DatasetRegistry().adapter("brats2018_phantom", {"subjects": 4, "shape": [20, 26, 22]})
    data = convert_dataset(adapter, root / "raw", root / "data").out
    meta = json.loads((data / "dataset.json").read_text())
    images = root / "images"
    images.mkdir()
    case = sorted(p.name for p in (data / "imagesTr").glob("*_0000.nii.gz"))[-1].removesuffix("_0000.nii.gz")
    for path in (data / "imagesTr").glob(f"{case}_*.nii.gz"):
        shutil.copy(path, images / path.name)
    (images / "dataset.json").write_text(json.dumps({**meta, "numTraining": 0}))
    return SimpleNamespace(root=root, data=data, meta=meta, images=images, case=case)


def test_region_outputs_map_back_to_the_label_map_exactly(pkg: SimpleNamespace, brats: SimpleNamespace) -> None:
    regions = pkg.regions.Regions.from_meta(brats.meta, "dataset.json")
    assert regions.names == ("WT", "TC", "ET") and regions.writes == (1, 2, 3)
    labels = [sitk.GetArrayFromImage(sitk.ReadImage(str(p))) for p in sorted((brats.data / "labelsTr").iterdir())]
    for label in labels:
        assert set(np.unique(label).tolist()) == {0, 1, 2, 3}  # every BraTS label present
        masks = regions.to_masks(label)
        np.testing.assert_array_equal(masks[0], np.isin(label, [1, 2, 3]))  # WT = ED + NCR/NET + ET
        np.testing.assert_array_equal(masks[2], label == 3)
        np.testing.assert_array_equal(regions.to_label(masks > 0.5), label)
    # a dataset without regions: one output per label, written back by value
    plain = pkg.regions.Regions.from_meta({"labels": {"background": 0, "RV": 3, "LV": 1}}, "x")
    label = np.array([[[0, 1, 3, 3]]])
    assert plain.names == ("LV", "RV")
    np.testing.assert_array_equal(plain.to_label(plain.to_masks(label) > 0.5), label)
    with pytest.raises(pkg.errors.MethodError, match="regions_class_order"):
        pkg.regions.Regions.from_meta({"labels": {"background": 0, "WT": [1, 2]}}, "x")


def test_defaults_match_the_card_and_the_stated_parameter_count(pkg: SimpleNamespace) -> None:
    card = MethodCard.load(METHOD_DIR / "method.yaml")
    assert {name: spec.default for name, spec in card.params.items()} == pkg.params.DEFAULTS
    model = import_method_module(METHOD_DIR, "segresnet.model").build_model(pkg.params.DEFAULTS, 4, 3)
    count = sum(p.numel() for p in model.parameters())
    assert count == 4_702_227 and "4,702,227" in (METHOD_DIR / "method.yaml").read_text()
    with pytest.raises(pkg.errors.MethodError, match="roi_size"):
        pkg.params.check_params({**pkg.params.DEFAULTS, "roi_size": [20, 24, 24]})


@pytest.fixture(scope="module")
def base(brats: SimpleNamespace) -> Path:
    """A model trained for 8 epochs: the weights file the fine-tune starts from."""
    model = brats.root / "base"
    ok(run("segresnet", "train", "--data", brats.data, "--out", model, params={**TINY, "epochs": 8, "seed": 1},
           workdir=brats.root))
    return model


def test_train_and_predict_write_the_label_map_with_the_image_geometry(brats: SimpleNamespace, base: Path,
                                                                       tmp_path: Path) -> None:
    info = json.loads((base / "model_info.json").read_text())
    assert info["parameters"] > 0 and "SegResNet" in info["architecture"] and info["init"] == "from scratch"
    assert len((base / "history.csv").read_text().splitlines()) == 9
    ok(run("segresnet", "predict", "--images", brats.images, "--model", base, "--out", tmp_path, workdir=tmp_path))
    predicted = sitk.ReadImage(str(tmp_path / f"{brats.case}.nii.gz"))
    image = sitk.ReadImage(str(brats.images / f"{brats.case}_0000.nii.gz"))
    assert predicted.GetSize() == image.GetSize() and predicted.GetOrigin() == image.GetOrigin()
    assert predicted.GetSpacing() == image.GetSpacing() and predicted.GetDirection() == image.GetDirection()
    assert set(np.unique(sitk.GetArrayFromImage(predicted)).tolist()) <= {0, 1, 2, 3}


def test_fine_tuning_starts_from_the_weights_file(brats: SimpleNamespace, base: Path, tmp_path: Path) -> None:
    init = make_init(tmp_path / "init", base)
    ok(run("segresnet", "train", "--data", brats.data, "--out", tmp_path / "scratch", params=TINY, workdir=tmp_path))
    tuned = ok(run("segresnet", "train", "--data", brats.data, "--out", tmp_path / "tuned", "--init", init,
                   params=TINY, workdir=tmp_path))
    assert first_loss(tmp_path / "tuned") < first_loss(tmp_path / "scratch") - 0.02
    assert "fine-tune:" in tuned.stdout and "re-initialised" not in tuned.stdout
    assert json.loads((tmp_path / "tuned" / "model_info.json").read_text())["init"] == "fine-tuned from model.pt"
    # zero epochs: the saved model is exactly the weights file
    ok(run("segresnet", "train", "--data", brats.data, "--out", tmp_path / "zero", "--init", init,
           params={**TINY, "epochs": 0}, workdir=tmp_path))
    a = torch.load(base / "model.pt", weights_only=True)
    b = torch.load(tmp_path / "zero" / "model.pt", weights_only=True)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.slow
def test_a_head_with_another_region_count_is_reinitialised_and_said(brats: SimpleNamespace, base: Path,
                                                                    tmp_path: Path) -> None:
    # the same cases with one region only (WT): the 3-output head of the base model does not fit
    one = tmp_path / "wt_only"
    shutil.copytree(brats.data, one)
    meta = {**brats.meta, "labels": {"background": 0, "WT": [1, 2, 3]}, "regions_class_order": [1]}
    (one / "dataset.json").write_text(json.dumps(meta))
    for path in (one / "labelsTr").iterdir():
        image = sitk.ReadImage(str(path))
        sitk.WriteImage(sitk.Cast(image > 0, sitk.sitkUInt8), str(path))
    result = ok(run("segresnet", "train", "--data", one, "--out", tmp_path / "model",
                    "--init", make_init(tmp_path / "init", base), params=TINY, workdir=tmp_path))
    assert "re-initialised" in result.stdout and "conv_final.2.conv.weight" in result.stdout
    tuned = torch.load(tmp_path / "model" / "model.pt", weights_only=True)
    assert tuned["conv_final.2.conv.weight"].shape[0] == 1


def test_an_init_without_a_weights_file_fails_clearly(brats: SimpleNamespace, tmp_path: Path) -> None:
    (tmp_path / "init").mkdir()
    (tmp_path / "init" / "init.json").write_text(json.dumps({"kind": "imagenet"}))
    result = run("segresnet", "train", "--data", brats.data, "--out", tmp_path / "m", "--init", tmp_path / "init",
                 params=TINY, workdir=tmp_path)
    assert result.returncode == 2 and "names no weights file" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_the_vae_variant_trains_and_predicts(brats: SimpleNamespace, tmp_path: Path) -> None:
    ok(run("segresnet", "train", "--data", brats.data, "--out", tmp_path / "m",
           params={**TINY, "vae": True, "roi_size": [16, 16, 16]}, workdir=tmp_path))
    assert "SegResNetVAE" in json.loads((tmp_path / "m" / "model_info.json").read_text())["architecture"]
    ok(run("segresnet", "predict", "--images", brats.images, "--model", tmp_path / "m", "--out", tmp_path / "p",
           workdir=tmp_path))
    assert (tmp_path / "p" / f"{brats.case}.nii.gz").is_file()


@pytest.mark.parametrize("method", ["unet2d", "vnet"])
def test_a_region_dataset_given_to_a_method_without_regions_fails_clearly(brats: SimpleNamespace, tmp_path: Path,
                                                                          method: str) -> None:
    params = {"epochs": 1} if method == "unet2d" else {"epochs": 1, "locator_epochs": 1, "base_filters": 2,
                                                       "locator_base_filters": 2, "bam_reduction": 2}
    result = run(method, "train", "--data", brats.data, "--out", tmp_path / "m", params=params, workdir=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert "declares regions (WT, TC, ET" in result.stderr and "segresnet or nnunet" in result.stderr
    assert "Traceback" not in result.stderr and "TypeError" not in result.stderr
