"""fcn: FCN-AlexNet / FCN-8s shapes, ImageNet loading from torchvision state dicts, and the Sunnybrook twin.

The ImageNet files are torchvision's own architectures saved by the test (random weights: nothing can
be downloaded here), so the key layout and the Linear → convolution reshape are torchvision's.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from harness.settings import repo_root
from tests.support.method_code import import_method_module

FCN = repo_root() / "methods" / "fcn"
networks = import_method_module(FCN, "fcn.networks")
initialise = import_method_module(FCN, "fcn.initialise")
errors = import_method_module(FCN, "segarena_kit.errors")
losses = import_method_module(FCN, "fcn.losses")


@pytest.fixture(scope="module")
def alexnet_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    torchvision = pytest.importorskip("torchvision")
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("weights") / "alexnet.pth"
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), path)
    return path


def _init_dir(folder: Path, weights: Path, kind: str = "imagenet") -> Path:
    """An --init folder as the harness builds it: init.json, the weights and (fine-tune) the base's config.json."""
    folder.mkdir()
    (folder / weights.name).symlink_to(weights)
    if (weights.parent / "config.json").is_file():
        (folder / "config.json").symlink_to(weights.parent / "config.json")
    (folder / "init.json").write_text(json.dumps({"kind": kind, "file": weights.name}))
    return folder


def _params(**changes: object) -> dict:
    params = import_method_module(FCN, "fcn.params")
    return {**params.DEFAULTS, **changes}


@pytest.mark.parametrize("arch", ["fcn_alexnet", "fcn8s"])
@pytest.mark.parametrize("size", [64, 96])
def test_logits_have_the_input_size(arch: str, size: int) -> None:
    net = networks.build_network(arch, 1, 3, 32, 0.5).eval()
    with torch.no_grad():
        out = net(torch.randn(2, 1, size, size))
    assert out.shape == (2, 3, size, size)


def test_fcn8s_skips_start_at_zero_and_fuse_pool3_and_pool4() -> None:
    torch.manual_seed(0)
    net = networks.build_network("fcn8s", 1, 2, 32, 0.0).eval()
    x = torch.randn(1, 1, 64, 64)
    with torch.no_grad():
        coarse = net(x)
        torch.nn.init.normal_(net.score_pool3.weight)  # a non-zero pool3 skip changes the output at stride 8
        fine = net(x)
    assert not torch.allclose(coarse, fine)
    features = [m for m in net.features]
    assert isinstance(features[networks.VGG16_POOL3], torch.nn.MaxPool2d)
    assert isinstance(features[networks.VGG16_POOL4], torch.nn.MaxPool2d)


def test_imagenet_alexnet_loads_backbone_and_fc_layers_as_convolutions(tmp_path: Path, alexnet_file: Path) -> None:
    model, record, rgb = initialise.create_model(_params(arch="fcn_alexnet"), 2, _init_dir(tmp_path / "i", alexnet_file))
    state = torch.load(alexnet_file, weights_only=True)
    assert rgb and record["kind"] == "imagenet" and record["fc_loaded"]
    assert torch.equal(model.features[0].weight, state["features.0.weight"])  # 3 RGB input channels
    assert torch.equal(model.head.fc6.weight, state["classifier.1.weight"].reshape(4096, 256, 6, 6))
    assert torch.equal(model.head.fc7.weight[:, :, 0, 0], state["classifier.4.weight"])
    assert record["not_loaded"] == ["head.score_fr.bias", "head.score_fr.weight"]


def test_imagenet_on_grayscale_sums_the_first_convolution_and_a_narrow_head_is_random(
        tmp_path: Path, alexnet_file: Path) -> None:
    model, record, rgb = initialise.create_model(_params(arch="fcn_alexnet", rgb="never", fc_channels=64), 2,
                                                 _init_dir(tmp_path / "i", alexnet_file))
    state = torch.load(alexnet_file, weights_only=True)
    assert not rgb and not record["fc_loaded"]
    assert torch.allclose(model.features[0].weight, state["features.0.weight"].sum(1, keepdim=True))
    assert "head.fc6.weight" in record["not_loaded"]


def test_imagenet_file_of_the_other_backbone_is_refused_naming_tensors(tmp_path: Path, alexnet_file: Path) -> None:
    with pytest.raises(errors.MethodError, match=r"does not fit the vgg16 backbone of arch fcn8s.*features\.0\.weight"):
        initialise.create_model(_params(arch="fcn8s", fc_channels=64), 2, _init_dir(tmp_path / "i", alexnet_file))


def test_imagenet_without_a_file_says_how_to_give_one(tmp_path: Path) -> None:
    (tmp_path / "init.json").write_text('{"kind": "imagenet"}')
    with pytest.raises(errors.MethodError, match="cannot download.*weights:"):
        initialise.create_model(_params(), 2, tmp_path)


def test_finetune_needs_the_same_arch(tmp_path: Path) -> None:
    base = tmp_path / "base"
    base.mkdir()
    torch.save(networks.build_network("fcn_alexnet", 1, 2, 32, 0.5).state_dict(), base / "model.pt")
    (base / "config.json").write_text(json.dumps({"params": {"arch": "fcn_alexnet"}, "rgb": False}))
    with pytest.raises(errors.MethodError, match="set arch: fcn_alexnet"):
        initialise.create_model(_params(arch="fcn8s", fc_channels=32), 2, _init_dir(tmp_path / "i", base / "model.pt",
                                                                                   "finetune"))
    model, record, rgb = initialise.create_model(_params(arch="fcn_alexnet", fc_channels=32), 2,
                                                 _init_dir(tmp_path / "j", base / "model.pt", "finetune"))
    assert record["not_loaded"] == [] and not rgb


def test_dice_loss_is_low_for_a_right_and_high_for_an_empty_prediction() -> None:
    target = torch.zeros(1, 8, 8, dtype=torch.long)
    target[0, 2:4, 2:4] = 1  # 4 of 64 pixels
    right = torch.where(torch.nn.functional.one_hot(target, 2).permute(0, 3, 1, 2).bool(), 3.0, -3.0)
    empty = torch.stack([torch.full((1, 8, 8), 3.0), torch.full((1, 8, 8), -3.0)], 1)
    assert losses.soft_dice(right, target) < 0.2
    assert losses.soft_dice(empty, target) > 0.75
    assert losses.cross_entropy(empty, target) < 0.5  # cross-entropy barely minds: the class-imbalance trap


def shrunk_twin(folder: Path) -> Path:
    """benchmarks/sunnybrook_fcn_demo.yaml with fewer epochs (fcn8s_dice keeps the twin's), ImageNet files made here."""
    import torchvision
    import yaml

    spec = yaml.safe_load((repo_root() / "benchmarks" / "sunnybrook_fcn_demo.yaml").read_text())
    torch.manual_seed(0)
    weights = {"TL": folder / "alexnet-imagenet.pth", "TL8": folder / "vgg16-imagenet.pth"}
    torch.save(torchvision.models.alexnet(weights=None).state_dict(), weights["TL"])
    torch.save(torchvision.models.vgg16(weights=None).state_dict(), weights["TL8"])
    epochs = {"fcn_alexnet": 2, "fcn8s": 1, "fcn8s_aug": 1, "unet2d": 1}  # fcn8s_dice: the twin's 16 (it must learn)
    for method in spec["methods"]:
        if method.get("id", method["name"]) in epochs:
            method["params"]["epochs"] = epochs[method.get("id", method["name"])]
    for regime in spec["factors"]["regimes"]:
        if regime["name"] in weights:
            regime["weights"] = str(weights[regime["name"]])
    spec["run_dir"], spec["report"]["out"] = str(folder / "run"), str(folder / "report")
    path = folder / "twin.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


@pytest.mark.slow
def test_sunnybrook_twin_shows_pixel_accuracy_beside_dice_with_and_without_transfer(tmp_path: Path) -> None:
    import hashlib

    import pandas as pd

    from harness.config import load_benchmark
    from harness.runner import run_benchmark

    summary = run_benchmark(load_benchmark(shrunk_twin(tmp_path)))
    assert summary.ok, summary.failed
    metrics = pd.read_csv(summary.report.parent / "metrics.csv")
    lv = metrics[metrics["label"] == "LV"].groupby(["method", "regime", "metric"])["value"].mean()
    variants = {("threshold_baseline", "R"), ("fcn_alexnet", "R"), ("fcn_alexnet", "TL"), ("fcn8s", "R"),
                ("fcn8s", "TL8"), ("fcn8s_dice", "TL8"), ("fcn8s_aug", "TL8"), ("unet2d", "R")}
    for method, regime in variants:  # every variant, with and without transfer, has both numbers
        assert {"dice", "pixel_accuracy"} <= set(lv[method][regime].index), (method, regime)
    # the tutorial's lesson: FCN-AlexNet's pixel accuracy is high whatever its Dice
    assert lv["fcn_alexnet"]["R"]["pixel_accuracy"] > 0.95
    assert lv["fcn8s_dice"]["TL8"]["dice"] > lv["threshold_baseline"]["R"]["dice"]
    # the transfer regimes started from the files this test made, as 3-channel networks
    for train in (summary.run_dir / "jobs" / "train").iterdir():
        config_path = train / "model" / "config.json"
        if not config_path.is_file() or "arch" not in json.loads(config_path.read_text()).get("params", {}):
            continue
        config = json.loads(config_path.read_text())
        info = json.loads((train / "model" / "model_info.json").read_text())
        assert info["parameters"] > 0 and (train / "model" / "history.csv").is_file()
        if config["init"]["kind"] == "imagenet":
            source = tmp_path / ("alexnet-imagenet.pth" if config["params"]["arch"] == "fcn_alexnet"
                                 else "vgg16-imagenet.pth")
            assert config["rgb"] and info["input_channels"] == 3
            assert config["init"]["sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
        else:
            assert not config["rgb"] and config["init"] == {"kind": "scratch"}
