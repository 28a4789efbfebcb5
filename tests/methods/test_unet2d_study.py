"""unet2d as the cmr-seg-tl study's model: encoders, losses, augmentation, classes, history, checkpoints, init.

The method runs as a subprocess (``methods/unet2d/main.py``), the way the local
executor runs it, on a tiny converted demo_cine folder; the pure pieces (losses,
augmentation, class map, defaults) are imported from the method's package.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk
import torch

from harness.datasets import DatasetRegistry, convert_dataset
from harness.methods.card import MethodCard
from harness.settings import repo_root
from tests.support.method_code import import_method_module

METHOD_DIR = repo_root() / "methods" / "unet2d"
MAIN = METHOD_DIR / "main.py"
TINY = {"epochs": 1, "batch_size": 4, "image_size": 32, "max_slices_per_epoch": 4}


# ---------------------------------------------------------------- helpers and fixtures


def run_method(*args: str | Path, params: dict[str, Any] | None = None, workdir: Path,
               env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(MAIN), *map(str, args)]
    if params is not None:
        path = workdir / f"params_{hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]}.json"
        path.write_text(json.dumps(params))
        command += ["--params", str(path)]
    full_env = {k: v for k, v in os.environ.items() if k != "SEGARENA_SEED"}
    full_env.update({"HF_HUB_OFFLINE": "1", "SEGARENA_THREADS": "2", "CUDA_VISIBLE_DEVICES": "",
                     "PYTHONWARNINGS": "ignore", **(env or {})})
    return subprocess.run(command, capture_output=True, text=True, env=full_env, timeout=600)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


def train(folders: SimpleNamespace, out: Path, params: dict[str, Any], *extra: str | Path,
          env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return run_method("train", "--data", folders.data, "--out", out, *extra, params=params, workdir=folders.root,
                      env=env)


def predict(folders: SimpleNamespace, model: Path, out: Path) -> dict[str, np.ndarray]:
    ok(run_method("predict", "--images", folders.images, "--model", model, "--out", out, workdir=folders.root))
    return {p.name: sitk.GetArrayFromImage(sitk.ReadImage(str(p))) for p in sorted(out.glob("*.nii.gz"))}


def make_init(folder: Path, kind: str, weights: Path, with_config: bool = True) -> Path:
    folder.mkdir(parents=True)
    shutil.copy(weights, folder / weights.name)
    if with_config and (weights.parent / "config.json").is_file():
        shutil.copy(weights.parent / "config.json", folder / "config.json")
    (folder / "init.json").write_text(json.dumps({"kind": kind, "file": weights.name}))
    return folder


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def state_dict(path: Path) -> dict[str, torch.Tensor]:
    return torch.load(path, map_location="cpu", weights_only=True)


@pytest.fixture(scope="module")
def folders(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """A converted 3-subject demo (training data), a 1-subject validation folder and an images-only folder."""
    root = tmp_path_factory.mktemp("unet2d_study")
    adapter = DatasetRegistry().adapter("demo_cine", {"subjects": 3, "frames": 2})
    data = convert_dataset(adapter, root / "raw", root / "data").out
    meta = json.loads((data / "dataset.json").read_text())
    val = root / "val"
    (val / "imagesTr").mkdir(parents=True)
    (val / "labelsTr").mkdir()
    for path in sorted((data / "imagesTr").glob("demo002_*")):
        shutil.copy(path, val / "imagesTr" / path.name)
        shutil.copy(data / "labelsTr" / path.name.replace("_0000", ""), val / "labelsTr")
    (val / "dataset.json").write_text(json.dumps({**meta, "numTraining": 2}))
    images = root / "images"
    images.mkdir()
    for path in sorted((data / "imagesTr").glob("*_0000.nii.gz"))[:2]:
        shutil.copy(path, images / path.name)
    (images / "dataset.json").write_text(json.dumps({**meta, "numTraining": 0}))
    return SimpleNamespace(root=root, data=data, val=val, images=images)


@pytest.fixture(scope="module")
def base(folders: SimpleNamespace) -> SimpleNamespace:
    """A 1-epoch resnet34 model (seed 7 from the environment, param seed 1) and its predictions."""
    model = folders.root / "base_model"
    ok(train(folders, model, {**TINY, "seed": 1}, env={"SEGARENA_SEED": "7"}))
    return SimpleNamespace(model=model, predictions=predict(folders, model, folders.root / "base_predictions"))


@pytest.fixture(scope="module")
def pkg() -> Iterator[SimpleNamespace]:
    """The method's own package, imported from methods/unet2d (pure pieces only)."""
    yield SimpleNamespace(errors=import_method_module(METHOD_DIR, "segarena_kit.errors"),
                          **{name: import_method_module(METHOD_DIR, f"unet2d.{name}")
                             for name in ("augment", "data", "losses", "params")})


def check_geometry(folders: SimpleNamespace, predictions: dict[str, np.ndarray], out: Path, values: set[int]) -> None:
    assert sorted(predictions) == sorted(p.name.replace("_0000", "") for p in folders.images.glob("*_0000.nii.gz"))
    for name, mask in predictions.items():
        image = sitk.ReadImage(str(folders.images / name.replace(".nii.gz", "_0000.nii.gz")))
        written = sitk.ReadImage(str(out / name))
        assert written.GetSize() == image.GetSize()
        assert np.allclose(written.GetSpacing(), image.GetSpacing())
        assert np.allclose(written.GetOrigin(), image.GetOrigin())
        assert np.allclose(written.GetDirection(), image.GetDirection())
        assert set(np.unique(mask).tolist()) <= values


# ---------------------------------------------------------------- encoders, seed, predict geometry


def test_resnet34_trains_and_predicts_with_the_image_geometry(folders: SimpleNamespace, base: SimpleNamespace) -> None:
    check_geometry(folders, base.predictions, folders.root / "base_predictions", {0, 1, 2, 3})
    config = json.loads((base.model / "config.json").read_text())
    assert config["params"]["encoder"] == "resnet34"
    assert config["seed"] == 7 and config["params"]["seed"] == 7  # SEGARENA_SEED wins over the param (1)
    assert config["init"] == {"kind": "scratch"}
    assert config["predict_checkpoint"] == "model.pt"
    history = pd.read_csv(base.model / "history.csv")
    assert list(history.columns) == ["epoch", "train_loss", "seconds"]
    assert len(history) == 1 and np.isfinite(history["train_loss"]).all()


@pytest.mark.slow
@pytest.mark.parametrize("encoder", ["resnet50", "vgg16"])
def test_other_encoders_train_and_predict(folders: SimpleNamespace, tmp_path: Path, encoder: str) -> None:
    ok(train(folders, tmp_path / "model", {**TINY, "encoder": encoder}))
    predictions = predict(folders, tmp_path / "model", tmp_path / "predictions")
    check_geometry(folders, predictions, tmp_path / "predictions", {0, 1, 2, 3})
    assert json.loads((tmp_path / "model" / "config.json").read_text())["params"]["encoder"] == encoder


def test_resnet18_with_a_narrow_decoder_trains_and_predicts(folders: SimpleNamespace, tmp_path: Path) -> None:
    """``decoder_channels`` 32 → blocks of 32, 16, 8, 4, 2 channels; predict rebuilds that decoder from config.json."""
    ok(train(folders, tmp_path / "model", {**TINY, "encoder": "resnet18", "decoder_channels": 32}))
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["params"]["encoder"] == "resnet18" and config["params"]["decoder_channels"] == 32
    weights = state_dict(tmp_path / "model" / "model.pt")
    widths = [weights[f"decoder.blocks.{i}.conv2.0.weight"].shape[0] for i in range(5)]
    assert widths == [32, 16, 8, 4, 2]
    assert weights["encoder.layer1.1.conv1.weight"].shape[0] == 64 and "encoder.layer1.2.conv1.weight" not in weights
    predictions = predict(folders, tmp_path / "model", tmp_path / "predictions")
    check_geometry(folders, predictions, tmp_path / "predictions", {0, 1, 2, 3})


def test_decoder_channels_must_be_a_multiple_of_16(pkg: SimpleNamespace) -> None:
    assert pkg.params.DEFAULTS["decoder_channels"] == 256  # smp's own decoder: other benchmarks are unchanged
    for bad in (0, 8, 24, 100):
        with pytest.raises(pkg.errors.MethodError, match="decoder_channels"):
            pkg.params.check_params({**pkg.params.DEFAULTS, "decoder_channels": bad})
    pkg.params.check_params({**pkg.params.DEFAULTS, "decoder_channels": 48})


@pytest.mark.slow
def test_training_is_deterministic_for_a_seed(folders: SimpleNamespace, base: SimpleNamespace, tmp_path: Path) -> None:
    ok(train(folders, tmp_path / "again", {**TINY, "seed": 1}, env={"SEGARENA_SEED": "7"}))
    first, second = state_dict(base.model / "model.pt"), state_dict(tmp_path / "again" / "model.pt")
    assert all(torch.equal(first[k], second[k]) for k in first)
    assert pd.read_csv(base.model / "history.csv")["train_loss"].tolist() == \
        pd.read_csv(tmp_path / "again" / "history.csv")["train_loss"].tolist()


# ---------------------------------------------------------------- losses


@pytest.mark.parametrize("spec", ["ce", "focal", "softdice", "ce+softdice", "0.5*focal + 2*softdice",
                                  {"ce": 1.0, "softdice": 0.5}])
def test_each_loss_is_finite_and_lower_for_a_right_answer(pkg: SimpleNamespace, spec: Any) -> None:
    loss = pkg.losses.build_loss(pkg.params.parse_loss(spec))
    generator = torch.Generator().manual_seed(0)
    target = torch.randint(0, 3, (2, 16, 16), generator=generator)
    random_logits = torch.randn(2, 3, 16, 16, generator=generator, requires_grad=True)
    right_logits = 8.0 * torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2).float()
    value = loss(random_logits, target)
    assert torch.isfinite(value) and value > 0
    value.backward()
    assert random_logits.grad is not None and torch.isfinite(random_logits.grad).all()
    assert loss(right_logits, target) < 0.5 * value


def test_loss_formulas_parse_with_weights_and_bad_ones_fail(pkg: SimpleNamespace) -> None:
    assert pkg.params.parse_loss("0.5*focal+softdice") == [(0.5, "focal"), (1.0, "softdice")]
    assert pkg.params.parse_loss({"ce": 2, "softdice": 1.0}) == [(2.0, "ce"), (1.0, "softdice")]
    for bad in ("dice", "ce+", "ce*2", {"ce": -1}, "0*ce"):
        with pytest.raises(pkg.errors.MethodError, match="params.loss"):
            pkg.params.parse_loss(bad)


# ---------------------------------------------------------------- augmentation


def phantom_pair(size: int = 64) -> tuple[torch.Tensor, torch.Tensor]:
    """Two off-centre shapes: the mask is drawn from the image (image = 0 / 1 / 2 inside the shapes)."""
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    slice_ = torch.zeros(size, size)
    slice_[((yy - 20) ** 2 + (xx - 38) ** 2) < 11**2] = 1.0
    slice_[(yy > 36) & (yy < 52) & (xx > 10) & (xx < 24)] = 2.0
    image = slice_.expand(4, 1, size, size).clone()
    return image, image[:, 0].round().long()


@pytest.mark.parametrize("preset", ["normal", "extreme"])
def test_augmentation_keeps_image_and_mask_aligned(pkg: SimpleNamespace, preset: str) -> None:
    image, mask = phantom_pair()
    augmenter = pkg.augment.Augmenter(preset, 64)
    changed = 0
    for seed in range(6):
        out_image, out_mask = augmenter(image, mask, seed)
        assert out_image.shape == image.shape and out_mask.shape == mask.shape and out_mask.dtype == mask.dtype
        assert set(out_mask.unique().tolist()) <= {0, 1, 2}
        changed += int(not torch.equal(out_mask, mask))
        for i in range(len(image)):
            # Intensity changes are monotone (gain > 0): recover the labels from the image by the levels'
            # midpoints and compare with the transformed mask; a misaligned pair gives a low Dice.
            x, m = out_image[i, 0], out_mask[i]
            levels = [float(x[m == k].median()) for k in range(3) if (m == k).any()]
            assert levels == sorted(levels)
            for k in (1, 2):
                if not (m == k).any():
                    continue
                low, high = float(x[m == k - 1].median()) if (m == k - 1).any() else levels[0], float(x[m == k].median())
                ref = m >= k
                got = x > (low + high) / 2
                dice = 2 * float((ref & got).sum()) / float(ref.sum() + got.sum())
                assert dice > 0.85, (preset, seed, i, k, dice)
    assert changed >= 3  # the preset really transforms


@pytest.mark.parametrize("preset", ["normal", "extreme"])
def test_augmentation_is_deterministic_for_a_seed(pkg: SimpleNamespace, preset: str) -> None:
    image, mask = phantom_pair()
    augmenter = pkg.augment.Augmenter(preset, 64)
    before = torch.random.get_rng_state()
    first, second, other = augmenter(image, mask, 11), augmenter(image, mask, 11), augmenter(image, mask, 12)
    assert torch.equal(first[0], second[0]) and torch.equal(first[1], second[1])
    assert not torch.equal(first[0], other[0])
    assert torch.equal(torch.random.get_rng_state(), before)  # the global RNG is not consumed


# ---------------------------------------------------------------- classes, validation history, checkpoints


def test_lv_myo_merges_rv_into_background(pkg: SimpleNamespace) -> None:
    labels = {"background": 0, "LV": 1, "MYO": 2, "RV": 3}
    lv_myo = pkg.data.ClassMap.from_labels(labels, "lv_myo")
    assert lv_myo.names == ("background", "LV", "MYO")
    assert lv_myo.to_classes(np.array([0, 1, 2, 3]), "t").tolist() == [0, 1, 2, 0]
    assert lv_myo.to_values(np.array([0, 1, 2])).tolist() == [0, 1, 2]
    assert pkg.data.ClassMap.from_labels(labels, "all").to_classes(np.array([3, 1]), "t").tolist() == [3, 1]
    with pytest.raises(pkg.errors.MethodError, match="LV and MYO"):
        pkg.data.ClassMap.from_labels({"background": 0, "LA": 1}, "lv_myo")


def test_val_gives_dice_columns_and_a_best_checkpoint(folders: SimpleNamespace, tmp_path: Path) -> None:
    params = {**TINY, "epochs": 2, "classes": "lv_myo", "loss": "0.5*focal+softdice", "augmentation": "extreme",
              "checkpoint": "best"}
    ok(train(folders, tmp_path / "model", params, "--val", folders.val))
    history = pd.read_csv(tmp_path / "model" / "history.csv")
    assert list(history.columns) == ["epoch", "train_loss", "val_dice_LV", "val_dice_MYO", "seconds"]
    assert history["epoch"].tolist() == [1, 2]
    assert np.isfinite(history["train_loss"]).all()
    assert history[["val_dice_LV", "val_dice_MYO"]].apply(lambda c: c.between(0, 1)).all().all()
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert (tmp_path / "model" / "model_best.pt").is_file() and (tmp_path / "model" / "model.pt").is_file()
    assert config["predict_checkpoint"] == "model_best.pt" and config["best"]["epoch"] in (1, 2)
    assert config["class_names"] == ["background", "LV", "MYO"]
    predictions = predict(folders, tmp_path / "model", tmp_path / "predictions")
    check_geometry(folders, predictions, tmp_path / "predictions", {0, 1, 2})  # RV (3) is never predicted


def test_defaults_match_the_method_card(pkg: SimpleNamespace) -> None:
    card = MethodCard.load(METHOD_DIR / "method.yaml")
    assert {name: spec.default for name, spec in card.params.items()} == pkg.params.DEFAULTS
    for name, spec in card.params.items():
        if spec.choices is not None:
            assert tuple(spec.choices) == pkg.params._CHOICES[name], name


# ---------------------------------------------------------------- initialisation (--init and encoder_weights)


def test_finetune_with_zero_epochs_reproduces_the_base_model(folders: SimpleNamespace, base: SimpleNamespace,
                                                             tmp_path: Path) -> None:
    init = make_init(tmp_path / "init", "finetune", base.model / "model.pt")
    ok(train(folders, tmp_path / "model", {**TINY, "epochs": 0, "seed": 3}, "--init", init))
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["init"]["kind"] == "finetune" and config["init"]["file"] == "model.pt"
    assert config["init"]["sha256"] == sha256(base.model / "model.pt")
    assert config["init"]["head"] == "loaded" and config["init"]["not_loaded"] == []
    predictions = predict(folders, tmp_path / "model", tmp_path / "predictions")
    assert predictions.keys() == base.predictions.keys()
    for name, mask in predictions.items():
        assert np.array_equal(mask, base.predictions[name]), name


def test_finetune_to_other_classes_loads_all_but_the_head(folders: SimpleNamespace, base: SimpleNamespace,
                                                          tmp_path: Path) -> None:
    init = make_init(tmp_path / "init", "finetune", base.model / "model.pt")
    result = ok(train(folders, tmp_path / "model", {**TINY, "epochs": 0, "classes": "lv_myo"}, "--init", init))
    assert "segmentation head left at random init" in result.stdout
    config = json.loads((tmp_path / "model" / "config.json").read_text())
    assert config["init"]["head"] == "random init"
    assert all(k.startswith("segmentation_head.") for k in config["init"]["not_loaded"])
    tuned, original = state_dict(tmp_path / "model" / "model.pt"), state_dict(base.model / "model.pt")
    assert tuned["segmentation_head.0.weight"].shape[0] == 3
    assert all(torch.equal(tuned[k], original[k]) for k in tuned if not k.startswith("segmentation_head."))


@pytest.mark.parametrize("with_config", [True, pytest.param(False, marks=pytest.mark.slow)],
                         ids=["config", "no-config"])
def test_finetune_from_another_encoder_is_refused(folders: SimpleNamespace, base: SimpleNamespace, tmp_path: Path,
                                                  with_config: bool) -> None:
    init = make_init(tmp_path / "init", "finetune", base.model / "model.pt", with_config=with_config)
    result = train(folders, tmp_path / "model", {**TINY, "encoder": "vgg16"}, "--init", init)
    assert result.returncode == 2, result.stderr[-2000:]
    expected = "has encoder resnet34, this job has encoder vgg16" if with_config else "do not fit a vgg16 encoder"
    assert expected in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "model" / "model.pt").exists()


def test_imagenet_init_from_a_local_file(folders: SimpleNamespace, tmp_path: Path) -> None:
    import torchvision

    weights = torchvision.models.resnet34(weights=None).state_dict()
    weights["layer1.0.conv1.weight"].fill_(0.125)
    weights["fc.weight"].fill_(9.0)
    source = tmp_path / "source"
    source.mkdir()
    torch.save(weights, source / "resnet34_imagenet.pth")
    init = make_init(tmp_path / "init", "imagenet", source / "resnet34_imagenet.pth")
    result = ok(train(folders, tmp_path / "model", {**TINY, "epochs": 0}, "--init", init))
    model = state_dict(tmp_path / "model" / "model.pt")
    assert torch.all(model["encoder.layer1.0.conv1.weight"] == 0.125)
    # One input channel: the RGB first convolution is summed over its channels (smp's rule).
    assert torch.allclose(model["encoder.conv1.weight"], weights["conv1.weight"].sum(1, keepdim=True))
    config = json.loads((tmp_path / "model" / "config.json").read_text())["init"]
    assert config["kind"] == "imagenet" and config["file"] == "resnet34_imagenet.pth"
    assert config["sha256"] == sha256(source / "resnet34_imagenet.pth")
    assert config["loaded_tensors"] == config["encoder_tensors"] > 100
    assert f"loaded {config['loaded_tensors']} of the" in result.stdout


def test_imagenet_file_that_fits_nothing_fails_clearly(folders: SimpleNamespace, tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    torch.save({"backbone.stem.weight": torch.zeros(3), "fc.weight": torch.zeros(2)}, source / "other.pth")
    init = make_init(tmp_path / "init", "imagenet", source / "other.pth")
    result = train(folders, tmp_path / "model", {**TINY, "epochs": 0}, "--init", init)
    assert result.returncode == 2
    assert "none of the 1 tensors" in result.stderr and "resnet34 encoder" in result.stderr


def test_hub_weights_offline_fail_fast_with_a_clear_message(folders: SimpleNamespace, tmp_path: Path) -> None:
    started = time.monotonic()
    result = train(folders, tmp_path / "model", {**TINY, "encoder_weights": "imagenet"}, env={"HF_HUB_OFFLINE": "1"})
    elapsed = time.monotonic() - started
    assert result.returncode == 2
    assert "could not get the published ImageNet weights of resnet34" in result.stderr
    assert "give a local weights file" in result.stderr and "init: imagenet" in result.stderr
    assert elapsed < 10, f"took {elapsed:.1f} s"


def test_imagenet_init_without_a_file_means_the_library_weights(folders: SimpleNamespace, tmp_path: Path) -> None:
    """``{"kind": "imagenet"}`` alone maps to encoder_weights: imagenet (the harness never sets that param)."""
    (tmp_path / "init").mkdir()
    (tmp_path / "init" / "init.json").write_text(json.dumps({"kind": "imagenet"}))
    result = train(folders, tmp_path / "model", {**TINY, "encoder_weights": "none"}, "--init", tmp_path / "init",
                   env={"HF_HUB_OFFLINE": "1"})
    assert result.returncode == 2
    assert "could not get the published ImageNet weights of resnet34" in result.stderr  # it asked the hub


def test_init_folder_without_init_json_fails_clearly(folders: SimpleNamespace, base: SimpleNamespace,
                                                    tmp_path: Path) -> None:
    (tmp_path / "init").mkdir()
    shutil.copy(base.model / "model.pt", tmp_path / "init" / "model.pt")
    result = train(folders, tmp_path / "model", TINY, "--init", tmp_path / "init")
    assert result.returncode == 2 and "no init.json" in result.stderr
