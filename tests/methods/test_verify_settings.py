"""A method card's ``verify:`` block: quick params checked at load, the synthetic dataset it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ConfigError
from harness.methods import MethodRegistry
from harness.methods.card import MethodCard
from harness.runner.verify import verify_dataset

CARD = """name: toy
title: toy
params:
  epochs: {type: int, default: 100, min: 1}
verify:
  params: {%s}
"""


def test_every_registered_method_card_loads_with_valid_quick_settings() -> None:
    registry = MethodRegistry([])
    for name in registry.names():
        card = registry.card(name)
        assert card.param_problems(card.verify.params, "verify.params") == [], name
    assert MethodRegistry([]).card("nnunet").verify.params["epochs"] == 1  # verify never trains 1000 epochs


def test_a_bad_quick_setting_names_the_card_and_the_param(tmp_path: Path) -> None:
    (tmp_path / "method.yaml").write_text(CARD % "epoch: 1")
    with pytest.raises(ConfigError, match=r"method.yaml: invalid method card[\s\S]*epoch[\s\S]*epochs"):
        MethodCard.load(tmp_path / "method.yaml")
    (tmp_path / "method.yaml").write_text(CARD % "epochs: 0")
    with pytest.raises(ConfigError, match="epochs"):
        MethodCard.load(tmp_path / "method.yaml")
    (tmp_path / "method.yaml").write_text(CARD % "epochs: 2")
    assert MethodCard.load(tmp_path / "method.yaml").resolve_params({**{"epochs": 2}}, "p") == {"epochs": 2}


def test_verify_dataset_follows_the_card_and_the_command_line(tmp_path: Path) -> None:
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "method.yaml").write_text(CARD % "" + "  options: {subjects: 2, frames: 2}\n")
    card = MethodCard.load(tmp_path / "m" / "method.yaml")
    dataset = verify_dataset(card, tmp_path / "verify")
    assert len({r.subject for r in dataset.cases}) == 2 and len(dataset.cases) == 4
    assert len(verify_dataset(card, tmp_path / "verify", subjects=3).cases) == 6  # --subjects wins


def test_a_verify_dataset_that_does_not_generate_data_is_refused(tmp_path: Path) -> None:
    (tmp_path / "method.yaml").write_text(CARD % "" + "  dataset: la2018\n")
    card = MethodCard.load(tmp_path / "method.yaml")
    with pytest.raises(ConfigError, match="'la2018' does not generate"):
        verify_dataset(card, tmp_path / "verify")
