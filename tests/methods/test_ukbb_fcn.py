"""ukbb_fcn: the network's size, its label map to and from the dataset's, the card's ED rule, --init refusals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.methods import MethodRegistry
from harness.settings import repo_root
from tests.support.method_code import import_method_module

METHOD = repo_root() / "methods" / "ukbb_fcn"


def test_the_network_has_the_papers_size_and_keeps_the_input_size() -> None:
    network = import_method_module(METHOD, "ukbb_fcn.network")
    model = network.UKBBFCN(16)
    # 1,982,100 convolution weights + 3,456 BN gamma/beta (derived from ukbb_cardiac's build_FCN)
    assert network.count_parameters(model) == 1_985_556
    assert len(model.conv_bn_pairs()) == 21
    assert model(torch.zeros(1, 1, 32, 48)).shape == (1, 4, 32, 48)
    with pytest.raises(ValueError, match="multiple of 16"):
        model(torch.zeros(1, 1, 30, 48))
    assert not any(k.endswith("kernel") for k in model.state_dict())  # the bilinear kernels are constants


def test_label_map_to_and_from_the_dataset() -> None:
    labels = import_method_module(METHOD, "ukbb_fcn.labels")
    errors = import_method_module(METHOD, "segarena_kit.errors")
    canonical = labels.LabelMap.from_dataset_labels({"background": 0, "LV": 1, "MYO": 2, "RV": 3}, "x")
    values = np.array([[0, 1], [2, 3]])
    assert (canonical.to_classes(values, "x") == values).all()  # SegArena's map is the authors' map
    acdc_like = labels.LabelMap.from_dataset_labels({"background": 0, "RV": 1, "MYO": 2, "LV": 3}, "x")
    assert acdc_like.to_classes(values, "x").tolist() == [[0, 3], [2, 1]]
    assert acdc_like.to_values(np.array([0, 1, 2, 3])).tolist() == [0, 3, 2, 1]
    lv_only = labels.LabelMap.from_dataset_labels({"background": 0, "LV": 1, "MYO": 2}, "x")
    assert lv_only.to_values(np.array([0, 1, 2, 3])).tolist() == [0, 1, 2, 0]  # no RV label: background
    with pytest.raises(errors.MethodError, match="LA are not in the UK Biobank FCN's map"):
        labels.LabelMap.from_dataset_labels({"background": 0, "LA": 1}, "dataset.json")
    with pytest.raises(errors.MethodError, match=r"label values \[4\]"):
        canonical.to_classes(np.array([0, 4]), "case c1")


def test_the_card_declares_the_authors_ed_rule() -> None:
    card = MethodRegistry([]).card("ukbb_fcn")
    assert card.ed_rule == "first_frame"
    assert MethodRegistry([]).card("unet2d").ed_rule == "largest_lv"
    assert card.resources.gpu == 1 and "doi:10.1186/s12968-018-0471-x" in card.citation


def test_init_refuses_library_weights_and_a_foreign_state_dict(tmp_path: Path) -> None:
    initialise = import_method_module(METHOD, "ukbb_fcn.initialise")
    errors = import_method_module(METHOD, "segarena_kit.errors")
    params = import_method_module(METHOD, "ukbb_fcn.params").DEFAULTS
    (tmp_path / "init.json").write_text(json.dumps({"kind": "imagenet"}))
    with pytest.raises(errors.MethodError, match="main.py convert"):
        initialise.create_model(params, tmp_path)
    torch.save({"conv1.weight": torch.zeros(64, 3, 7, 7)}, tmp_path / "resnet.pth")
    (tmp_path / "init.json").write_text(json.dumps({"kind": "imagenet", "file": "resnet.pth"}))
    with pytest.raises(errors.MethodError, match=r"does not fit the UK Biobank FCN \(missing fc1\.bn\.bias.*; unknown conv1\.weight"):
        initialise.create_model(params, tmp_path)
    network = import_method_module(METHOD, "ukbb_fcn.network")
    good = network.UKBBFCN(16)
    torch.nn.init.constant_(good.logits.bias, 0.25)
    torch.save(good.state_dict(), tmp_path / "ukbb_fcn_sa.pt")
    (tmp_path / "init.json").write_text(json.dumps({"kind": "imagenet", "file": "ukbb_fcn_sa.pt"}))
    model, record = initialise.create_model(params, tmp_path)
    assert torch.equal(model.logits.bias, torch.full((4,), 0.25)) and record["kind"] == "imagenet"
