"""vnet: BAM, the boundary loss by hand, the hybrid schedule, the seed's crops, geometry of predictions, regions.

The pure pieces are imported from the method's package; train and predict run as subprocesses
(``methods/vnet/main.py``), the way the local executor runs them, on tiny common-format folders
written here with known geometry (odd sizes, anisotropic spacing, a rotated direction, a structure
touching the volume's edge).
"""

from __future__ import annotations

import json
import math
import os
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

METHOD_DIR = repo_root() / "methods" / "vnet"
TINY = {"base_filters": 2, "locator_base_filters": 2, "epochs": 1, "locator_epochs": 1, "batch_size": 2,
        "locator_batch_size": 2, "crop_buffer": [2, 3, 3], "bam_reduction": 2}


@pytest.fixture(scope="module")
def pkg() -> SimpleNamespace:
    return SimpleNamespace(**{name: import_method_module(METHOD_DIR, f"vnet.{name}")
                              for name in ("network", "losses", "crop", "params", "train", "augment")})


def run_method(*args: str | Path, params: dict | None = None, workdir: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(METHOD_DIR / "main.py"), *map(str, args)]
    if params is not None:
        path = workdir / f"params-{abs(hash(json.dumps(params, sort_keys=True)))}.json"
        path.write_text(json.dumps(params))
        command += ["--params", str(path)]
    env = {k: v for k, v in os.environ.items() if k != "SEGARENA_SEED"}
    env.update({"SEGARENA_THREADS": "2", "CUDA_VISIBLE_DEVICES": "", "PYTHONWARNINGS": "ignore"})
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)


def ok(result: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


# ------------------------------------------------------------------ network


def test_bam_keeps_the_feature_shape_and_changes_the_features(pkg: SimpleNamespace) -> None:
    torch.manual_seed(0)
    bam = pkg.network.BAM3d(16, reduction=4, dilation=3)
    x = torch.randn(1, 16, 8, 12, 10)
    with torch.no_grad():
        y = bam(x)
    assert y.shape == x.shape
    assert not torch.allclose(y, x)
    # attention in [1, 2]: every feature is scaled by 1 + sigmoid(...)
    ratio = (y / x)[x.abs() > 1e-3]
    assert float(ratio.min()) >= 1.0 - 1e-5 and float(ratio.max()) <= 2.0 + 1e-5


def test_vnet_with_bam_has_the_same_output_shape_and_another_output(pkg: SimpleNamespace) -> None:
    x = torch.randn(1, 1, 32, 32, 48)
    outputs = {}
    for attention in ("none", "bam"):
        torch.manual_seed(0)
        net = pkg.network.VNet(1, 2, base_filters=4, attention=attention, bam_reduction=4, bam_dilation=4).eval()
        outputs[attention] = net(x)
    assert outputs["none"].shape == outputs["bam"].shape == (1, 2, 32, 32, 48)
    assert not torch.allclose(outputs["none"], outputs["bam"])


def test_the_default_vnet_has_the_parameter_count_the_card_states(pkg: SimpleNamespace) -> None:
    card = (METHOD_DIR / "method.yaml").read_text()
    defaults = pkg.params.DEFAULTS
    count = pkg.network.count_parameters(pkg.network.build_vnet(defaults, 1, 2))
    assert count == 22_551_202 and "22,551,202" in card
    wide = pkg.network.count_parameters(pkg.network.build_vnet({**defaults, "base_filters": 20}, 1, 2))
    assert wide == 35_233_482 and "35,233,482" in card


def test_defaults_match_the_method_card(pkg: SimpleNamespace) -> None:
    card = MethodCard.load(METHOD_DIR / "method.yaml")
    assert {name: spec.default for name, spec in card.params.items()} == pkg.params.DEFAULTS


def test_bad_params_fail_with_the_param_name(pkg: SimpleNamespace) -> None:
    for bad, name in (({"patch_size": [48, 40, 64]}, "patch_size"), ({"crop_buffer": [1, 2]}, "crop_buffer"),
                      ({"loss": "ce"}, "loss"), ({"bam_reduction": 32}, "bam_reduction")):
        with pytest.raises(pkg.params.MethodError, match=name):
            pkg.params.check_params({**pkg.params.DEFAULTS, **bad})


# ------------------------------------------------------------------ losses


def test_boundary_loss_equals_a_hand_computed_value_with_anisotropic_spacing(pkg: SimpleNamespace) -> None:
    # (D, H, W) = (2, 1, 3), spacing (2.0, 1.0, 0.5) mm; the reference is the single voxel (0, 0, 1).
    classes = np.zeros((2, 1, 3), np.int64)
    classes[0, 0, 1] = 1
    spacing = (2.0, 1.0, 0.5)
    phi = pkg.losses.signed_distance_map(classes == 1, spacing)
    diagonal = math.hypot(2.0, 0.5)
    expected_phi = np.array([[[0.5, -0.5, 0.5]], [[diagonal, 2.0, diagonal]]])
    np.testing.assert_allclose(phi, expected_phi, rtol=1e-6)
    # logits (0, l): foreground probability sigmoid(l) per voxel
    fg_logit = torch.tensor([[[1.0, 2.0, -1.0]], [[0.0, 0.5, -2.0]]])
    logits = torch.stack([torch.zeros_like(fg_logit), fg_logit])[None]
    dist = torch.from_numpy(pkg.losses.distance_maps(classes, 2, spacing))[None]
    p = torch.sigmoid(fg_logit).numpy()
    expected = float((p * expected_phi).mean())
    assert float(pkg.losses.boundary_loss(logits, dist)) == pytest.approx(expected, rel=1e-6)
    # a perfect prediction has a lower loss than its inverse
    perfect = torch.stack([-10 * torch.ones(2, 1, 3), 10 * torch.ones(2, 1, 3)])[None] * \
        (torch.from_numpy(classes).float() * 2 - 1)[None, None]
    assert float(pkg.losses.boundary_loss(perfect, dist)) < float(pkg.losses.boundary_loss(-perfect, dist))


def test_the_hybrid_schedule_gives_the_stated_weights(pkg: SimpleNamespace) -> None:
    start, weight = pkg.losses.boundary_start, pkg.losses.hybrid_weight
    # from an epoch: off before it, then step, 2*step, ... up to the cap
    assert start([], from_epoch=3, dice_threshold=0.0) == 3
    assert [weight(e, 3, 0.01, 1.0) for e in (1, 2, 3, 4, 10)] == [0.0, 0.0, 0.01, 0.02, pytest.approx(0.08)]
    assert weight(500, 3, 0.01, 1.0) == 1.0
    assert weight(5, 3, 0.5, 0.75) == 0.75
    # after a Dice threshold: the epoch after the first epoch that reached it
    assert start([0.3, 0.6, 0.81, 0.7], from_epoch=0, dice_threshold=0.8) == 4
    assert start([0.3, 0.6], from_epoch=0, dice_threshold=0.8) is None
    assert weight(4, None, 0.01, 1.0) == 0.0
    # both given: whichever comes first
    assert start([0.9], from_epoch=10, dice_threshold=0.8) == 2
    assert start([0.1, 0.2], from_epoch=2, dice_threshold=0.8) == 2
    assert start([0.1], from_epoch=0, dice_threshold=0.0) is None


def test_dice_and_focal_losses_are_lower_for_the_right_answer(pkg: SimpleNamespace) -> None:
    target = torch.zeros(1, 4, 4, 4, dtype=torch.long)
    target[0, 1:3, 1:3, 1:3] = 1
    right = torch.stack([(target[0] == 0).float(), (target[0] == 1).float()])[None] * 8 - 4
    for loss in (pkg.losses.dice_loss(right, target), pkg.losses.focal_loss(right, target, 0.25, 2.0)):
        assert torch.isfinite(loss)
    assert pkg.losses.dice_loss(right, target) < pkg.losses.dice_loss(-right, target)
    assert pkg.losses.focal_loss(right, target, 0.25, 2.0) < pkg.losses.focal_loss(-right, target, 0.25, 2.0)


# ------------------------------------------------------------------ the seed's crops


def _case(pkg: SimpleNamespace, shape: tuple[int, int, int], box: tuple[slice, ...], name: str) -> object:
    label = np.zeros(shape, np.int64)
    label[box] = 1
    return pkg.train.Case(name, np.random.default_rng(0).normal(size=(1, *shape)).astype(np.float32), label,
                          (1.25, 0.7, 0.7))


def test_every_training_crop_contains_the_whole_reference_structure(pkg: SimpleNamespace) -> None:
    cases = [_case(pkg, (21, 45, 37), (slice(0, 5), slice(0, 9), slice(30, 37)), "corner"),  # at the edges
             _case(pkg, (19, 51, 39), (slice(7, 15), slice(10, 41), slice(4, 30)), "large"),
             _case(pkg, (13, 29, 33), (slice(12, 13), slice(28, 29), slice(0, 1)), "one-voxel"),
             _case(pkg, (40, 70, 66), (slice(18, 22), slice(30, 35), slice(30, 35)), "small")]
    crops, size, starts = pkg.train.crop_samples(cases, [3, 4, 4])
    assert all(s % 16 == 0 for s in size) and len({c[0].shape for c in crops}) == 1
    assert crops[0][0].shape == (1, *size)
    for case, (image, label, _), start in zip(cases, crops, starts, strict=True):
        assert label.sum() == case.label.sum(), case.name  # nothing of the structure left out
        # the crop is the volume's content at its place (zero outside the volume)
        back = pkg.crop.paste(label, start, case.label.shape)
        np.testing.assert_array_equal(back, case.label)
        np.testing.assert_array_equal(image, pkg.crop.extract(case.image, start, size))  # image and label aligned


def test_locator_box_scales_back_and_the_crop_pastes_into_the_exact_shape(pkg: SimpleNamespace) -> None:
    crop = pkg.crop
    shape = (23, 41, 37)
    low_box = ((0, 3), (2, 5), (6, 10))  # found on the volume down-scaled 0.5 x 0.25 x 0.25
    full = crop.scale_box_up(low_box, (0.5, 0.25, 0.25), shape)
    assert full == ((0, 6), (8, 20), (24, 37))  # clipped at the far edge of W
    buffered = crop.add_buffer(full, (30, 30, 30), shape)
    assert buffered == ((0, 23), (0, 41), (0, 37))
    start = crop.place_crop(((20, 23), (0, 4), (30, 37)), (32, 32, 32), shape)
    patch = np.arange(32 ** 3).reshape(32, 32, 32)
    pasted = crop.paste(patch, start, shape)
    assert pasted.shape == shape
    inside = crop.extract(np.ones(shape, np.int64), start, (32, 32, 32))  # 1 where the crop meets the volume
    assert 0 < inside.sum() < 32 ** 3  # D (23) is smaller than the crop: zero padding at its end
    np.testing.assert_array_equal(crop.extract(pasted, start, (32, 32, 32)), patch * inside)
    assert start[1] + 32 <= shape[1] and start[1] <= 0 + 0 and start[2] + 32 >= 37  # box kept, inside the volume


# ------------------------------------------------------------------ train and predict as processes


def write_folder(root: Path, cases: dict[str, tuple[np.ndarray, np.ndarray]], spacing: tuple[float, float, float],
                 origin: tuple[float, float, float], direction: tuple[float, ...]) -> None:
    (root / "imagesTr").mkdir(parents=True)
    (root / "labelsTr").mkdir()
    for name, (image, label) in cases.items():
        for array, path in ((image, root / "imagesTr" / f"{name}_0000.nii.gz"), (label, root / "labelsTr" / f"{name}.nii.gz")):
            im = sitk.GetImageFromArray(array)
            im.SetSpacing(spacing)
            im.SetOrigin(origin)
            im.SetDirection(direction)
            sitk.WriteImage(im, str(path))
    meta = {"name": "toy", "channel_names": {"0": "MR"}, "labels": {"background": 0, "LA": 1},
            "numTraining": len(cases), "file_ending": ".nii.gz"}
    (root / "dataset.json").write_text(json.dumps(meta))


@pytest.fixture(scope="module")
def odd_folders(tmp_path_factory: pytest.TempPathFactory) -> SimpleNamespace:
    """Volumes of odd sizes (not multiples of 16), anisotropic spacing, a rotated direction; in one case the
    structure touches three faces of the volume."""
    root = tmp_path_factory.mktemp("vnet")
    rng = np.random.default_rng(3)
    cases = {}
    for i, (shape, box) in enumerate([((19, 35, 41), (slice(0, 6), slice(0, 12), slice(30, 41))),
                                      ((21, 37, 33), (slice(8, 15), slice(10, 22), slice(9, 20))),
                                      ((17, 33, 39), (slice(11, 17), slice(20, 33), slice(0, 10)))]):
        label = np.zeros(shape, np.uint8)
        label[box] = 1
        image = (rng.normal(0, 1, shape) + 3 * label).astype(np.float32)
        cases[f"case{i}"] = (image, label)
    a = math.radians(20)
    direction = (math.cos(a), -math.sin(a), 0.0, math.sin(a), math.cos(a), 0.0, 0.0, 0.0, 1.0)
    write_folder(root / "data", cases, (0.7, 0.65, 1.6), (-12.5, 40.0, 3.25), direction)
    images = root / "images"
    images.mkdir()
    for name in ("case0", "case2"):
        (images / f"{name}_0000.nii.gz").write_bytes((root / "data" / "imagesTr" / f"{name}_0000.nii.gz").read_bytes())
    meta = json.loads((root / "data" / "dataset.json").read_text())
    (images / "dataset.json").write_text(json.dumps({**meta, "numTraining": 0}))
    return SimpleNamespace(root=root, data=root / "data", images=images)


@pytest.mark.parametrize("pipeline", ["locate_crop", pytest.param("direct", marks=pytest.mark.slow),
                                      pytest.param("locator", marks=pytest.mark.slow)])
def test_predictions_have_the_input_geometry(odd_folders: SimpleNamespace, tmp_path: Path, pipeline: str) -> None:
    params = {**TINY, "pipeline": pipeline, "patch_size": [32, 32, 32], "attention": "bam", "loss": "hybrid",
              "boundary_from_epoch": 1}
    ok(run_method("train", "--data", odd_folders.data, "--out", tmp_path / "model", params=params, workdir=tmp_path))
    info = json.loads((tmp_path / "model" / "model_info.json").read_text())
    assert info["parameters"] > 0 and "VNet" in info["architecture"]
    history = (tmp_path / "model" / "history.csv").read_text().splitlines()
    assert history[0].startswith("epoch,stage,train_loss,train_dice,val_dice,boundary_weight")
    assert len(history) == 1 + (2 if pipeline == "locate_crop" else 1)
    ok(run_method("predict", "--images", odd_folders.images, "--model", tmp_path / "model", "--out", tmp_path / "pred",
                  workdir=tmp_path))
    for name in ("case0", "case2"):
        image = sitk.ReadImage(str(odd_folders.images / f"{name}_0000.nii.gz"))
        predicted = sitk.ReadImage(str(tmp_path / "pred" / f"{name}.nii.gz"))
        assert predicted.GetSize() == image.GetSize()
        assert predicted.GetSpacing() == image.GetSpacing() and predicted.GetOrigin() == image.GetOrigin()
        assert predicted.GetDirection() == image.GetDirection()
        assert set(np.unique(sitk.GetArrayFromImage(predicted)).tolist()) <= {0, 1}
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == ["case0.nii.gz", "case2.nii.gz"]


def test_a_region_dataset_is_refused_with_a_clear_message(tmp_path: Path) -> None:
    data = convert_dataset(DatasetRegistry().adapter("brats2018_phantom", {"subjects": 1, "shape": [12, 12, 12]}),
                           tmp_path / "raw", tmp_path / "data").out
    result = run_method("train", "--data", data, "--out", tmp_path / "model", params=TINY, workdir=tmp_path)
    assert result.returncode == 2
    assert "declares regions (WT, TC, ET" in result.stderr and "segresnet or nnunet" in result.stderr
    assert "Traceback" not in result.stderr
