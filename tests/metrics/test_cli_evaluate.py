"""``segarena evaluate`` through a throwaway typer app (the lead's app registers the same command)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
import typer
from typer.testing import CliRunner

from harness.cli.evaluate import register
from harness.errors import ConfigError, InputDataError
from harness.metrics.structures import parse_label_items, structures_from_labels


@pytest.fixture
def app() -> typer.Typer:
    app = typer.Typer()
    register(app)

    @app.command("other")  # a second command, so typer keeps "evaluate" as a subcommand
    def other() -> None: ...

    return app


def test_evaluate_with_labels(app: typer.Typer, mask_folders, tmp_path: Path) -> None:
    reference_dir, prediction_dir = mask_folders()
    out = tmp_path / "metrics.csv"
    result = CliRunner().invoke(app, [
        "evaluate", "--reference", str(reference_dir), "--prediction", str(prediction_dir),
        "--labels", "LV=1", "--labels", "HEART=1,2", "--convention", "deepmind", "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out)
    assert set(table.label) == {"LV", "HEART"} and set(table.case) == {"a", "b", "c", "e"}
    assert "1 missing prediction" in result.output and "c" in result.output


def test_evaluate_with_dataset_json_regions(app: typer.Typer, mask_folders, tmp_path: Path) -> None:
    reference_dir, prediction_dir = mask_folders()
    dataset_json = tmp_path / "dataset.json"
    dataset_json.write_text(
        json.dumps({"labels": {"background": 0, "heart": [1, 2], "RV": 3}, "file_ending": ".nii.gz"})
    )
    out = tmp_path / "metrics.csv"
    result = CliRunner().invoke(app, [
        "evaluate", "--reference", str(reference_dir), "--prediction", str(prediction_dir),
        "--dataset-json", str(dataset_json), "--workers", "1", "--out", str(out),
    ])  # fmt: skip
    assert result.exit_code == 0, result.output
    assert list(pd.read_csv(out).label.unique()) == ["heart", "RV"]


@pytest.mark.parametrize(
    ("extra", "error", "message"),
    [
        ([], ConfigError, "--dataset-json FILE"),
        (["--labels", "LV"], ConfigError, "NAME=VALUE"),
        (["--labels", "LV=1", "--convention", "scipy"], ConfigError, "segarena, medpy, monai, deepmind"),
        (["--labels", "LV=1", "--dataset-json", "x.json"], ConfigError, "not both"),
        (["--dataset-json", "missing.json"], InputDataError, "cannot read dataset.json"),
    ],
)
def test_bad_options_raise_segarena_errors(app: typer.Typer, mask_folders, tmp_path: Path, extra: list[str],
                                            error: type[Exception], message: str) -> None:  # fmt: skip
    reference_dir, prediction_dir = mask_folders()
    args = ["evaluate", "--reference", str(reference_dir), "--prediction", str(prediction_dir),
            "--out", str(tmp_path / "m.csv"), *extra]  # fmt: skip
    result = CliRunner().invoke(app, args)
    assert isinstance(result.exception, error) and message in str(result.exception)


def test_structure_parsing() -> None:
    assert parse_label_items(["LV=1", "WT=1,2,3"]) == {"LV": [1], "WT": [1, 2, 3]}
    assert structures_from_labels({"background": 0, "LV": 1, "ignore": 4, "ET": [3]}) == {"LV": [1], "ET": [3]}
    with pytest.raises(ConfigError, match="twice"):
        parse_label_items(["LV=1", "LV=2"])
    with pytest.raises(ConfigError, match="background value 0"):
        structures_from_labels({"bad": [0, 1]})
    with pytest.raises(ConfigError, match="integer"):
        structures_from_labels({"bad": "one"})
