"""`segarena method verify NAME --executor docker` on a real engine (tiny synthetic cases, one epoch)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from harness.cli import method as method_cli

pytestmark = pytest.mark.docker


def cli() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:  # a group, as in `segarena`
        pass

    method_cli.register(app)
    return app


@pytest.mark.slow
def test_verify_unet2d_under_docker(method_images: dict[str, str], tmp_path: Path) -> None:
    result = CliRunner().invoke(cli(), [
        "method", "verify", "unet2d", "--executor", "docker", "--work-dir", str(tmp_path / "work"),
        "-p", "epochs=1", "-p", "image_size=64", "-p", "batch_size=8", "-p", "max_slices_per_epoch=16",
    ])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "unet2d honours the contract under the docker executor" in result.output
    for step in ("train", "predict", "contract"):
        assert f"{step}" in result.output
    assert sorted(p.name for p in (tmp_path / "work" / "predictions").iterdir()) == ["demo002_f00.nii.gz",
                                                                                  "demo002_f01.nii.gz"]


def test_verify_threshold_baseline_under_docker(method_images: dict[str, str], tmp_path: Path) -> None:
    result = CliRunner().invoke(cli(), ["method", "verify", "threshold_baseline", "--executor", "docker",
                                        "--work-dir", str(tmp_path / "work")])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "honours the contract" in result.output


@pytest.mark.slow
def test_verify_nnunet_under_docker(nnunet_image: str, tmp_path: Path) -> None:
    """nnU-Net v2 in its own image (built offline on the torch base): plans, trains one short epoch, predicts."""
    result = CliRunner().invoke(cli(), [
        "method", "verify", "nnunet", "--executor", "docker", "--work-dir", str(tmp_path / "work"),
        "-p", "fast_cpu=true", "-p", "disable_tta=true", "-p", "final_validation=false", "-p", "epochs=1",
        "-p", "iterations_per_epoch=10", "-p", "val_iterations=2", "-p", "batch_size=2",
    ])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "nnunet honours the contract under the docker executor" in result.output
    model = tmp_path / "work" / "model"
    assert (model / "splits_final.json").is_file()
    assert sorted(p.name for p in (tmp_path / "work" / "predictions").iterdir()) == ["demo002_f00.nii.gz",
                                                                                  "demo002_f01.nii.gz"]
