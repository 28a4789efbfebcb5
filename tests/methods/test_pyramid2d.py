"""pyramid2d: the two-stage network, the two-stage Dice loss by hand, the augmentation, and the spine twin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from harness.settings import repo_root
from tests.support.method_code import import_method_module

PYRAMID = repo_root() / "methods" / "pyramid2d"
network = import_method_module(PYRAMID, "pyramid2d.network")
loss = import_method_module(PYRAMID, "pyramid2d.loss")
augment = import_method_module(PYRAMID, "pyramid2d.augment")
params = import_method_module(PYRAMID, "pyramid2d.params")
errors = import_method_module(PYRAMID, "segarena_kit.errors")


def test_two_stage_outputs_in_training_and_stage_two_in_eval() -> None:
    torch.manual_seed(0)
    model = network.MultiScalePyramid(classes=5, base_channels=4, dropout=0.3)
    x = torch.rand(2, 1, 64, 64)
    stage1, stage2 = model.train()(x)
    assert stage1.shape == stage2.shape == (2, 5, 64, 64)
    assert torch.allclose(stage2.sum(1), torch.ones(2, 64, 64), atol=1e-5)  # probabilities
    assert model.stage2.level1.convs[0][0].in_channels == 5 + 1  # stage-1 probabilities + the image
    with torch.no_grad():
        out = model.eval()(x)
    assert isinstance(out, torch.Tensor) and out.shape == (2, 5, 64, 64)
    assert all(float(m.bias.abs().max()) == 0 for m in model.modules() if isinstance(m, torch.nn.Conv2d))


def test_two_stage_dice_loss_by_hand() -> None:
    target = torch.zeros(1, 4, 4, dtype=torch.long)
    target[0, :2, :2] = 1  # 4 pixels of class 1, none of class 2
    perfect = torch.nn.functional.one_hot(target, 3).permute(0, 3, 1, 2).float()
    half = perfect.clone()
    half[0, 1, 0, 0], half[0, 0, 0, 0] = 0.5, 0.5  # one pixel at p = 0.5
    # class 1: 2·3.5 / (3.25 + 4) ; class 2: 0 (absent, counted as the seed does); mean over the 2 classes
    d_half = (2 * 3.5 / (3.25 + 4 + 1e-5) + 0.0) / 2
    d_perfect = (2 * 4 / (4 + 4 + 1e-5) + 0.0) / 2
    assert float(loss.two_stage_dice_loss(perfect, half, target)) == pytest.approx(2 - d_perfect - d_half, rel=1e-6)


def test_augmentation_keeps_labels_integer_and_is_reproducible() -> None:
    images = torch.rand(3, 1, 32, 32)
    masks = torch.randint(0, 4, (3, 32, 32))
    always = {**params.DEFAULTS, "rotation_prob": 1.0, "warp_prob": 1.0, "crop_prob": 1.0}
    x1, y1 = augment.augment(images, masks, always, seed=5)
    x2, y2 = augment.augment(images, masks, always, seed=5)
    assert torch.equal(x1, x2) and torch.equal(y1, y2)
    assert y1.dtype == torch.long and set(y1.unique().tolist()) <= {0, 1, 2, 3}
    assert not torch.equal(x1, images)
    never = {**params.DEFAULTS, "rotation_prob": 0.0, "warp_prob": 0.0, "crop_prob": 0.0}
    x3, y3 = augment.augment(images, masks, never, seed=5)
    assert torch.equal(x3, images) and torch.equal(y3, masks)


def test_bad_params_are_named(tmp_path: Path) -> None:
    path = tmp_path / "params.json"
    path.write_text(json.dumps({"image_size": 72}))
    with pytest.raises(errors.MethodError, match="image_size: expected a multiple of 16"):
        params.load_params(path)
    path.write_text(json.dumps({"crop_min": 0.9, "crop_max": 0.6}))
    with pytest.raises(errors.MethodError, match="crop_min 0.9 is larger than crop_max 0.6"):
        params.load_params(path)
    path.write_text(json.dumps({"lr_milestones": "10,x"}))
    with pytest.raises(errors.MethodError, match="lr_milestones"):
        params.load_params(path)


@pytest.mark.slow
def test_spine_twin_pyramid_beats_the_threshold_baseline(tmp_path: Path) -> None:
    import pandas as pd
    import yaml

    from harness.config import load_benchmark
    from harness.runner import run_benchmark

    spec = yaml.safe_load((repo_root() / "benchmarks" / "spine_pyramid_demo.yaml").read_text())
    spec["methods"][1]["params"].update({"epochs": 12, "checkpoint_every": 6})
    spec["methods"][2]["params"].update({"epochs": 2})
    spec["run_dir"], spec["report"]["out"] = str(tmp_path / "run"), str(tmp_path / "report")
    (tmp_path / "twin.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
    summary = run_benchmark(load_benchmark(tmp_path / "twin.yaml"))
    assert summary.ok, summary.failed
    metrics = pd.read_csv(summary.report.parent / "metrics.csv")
    dice = metrics[metrics["metric"] == "dice"].groupby("method")["value"].mean()
    assert dice["pyramid2d"] > dice["threshold_baseline"]
    assert set(metrics["label"]) >= {"roi_40", "roi_80", "roi_120", "roi_160"}
    model = next(d / "model" for d in (summary.run_dir / "jobs" / "train").iterdir()
                 if (d / "model" / "checkpoint_6.pt").is_file())
    assert (model / "checkpoint_12.pt").is_file()
    history = pd.read_csv(model / "history.csv")
    assert list(history["epoch"]) == list(range(1, 13)) and history["train_loss"].between(0, 2).all()
    assert json.loads((model / "model_info.json").read_text())["parameters"] > 0
