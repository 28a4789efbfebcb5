"""`segarena method verify ukbb_fcn --executor docker`: the UK Biobank FCN in its image (torch base, offline build)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.methods import MethodRegistry
from tests.containers.conftest import ensure_image
from tests.containers.test_verify_docker import cli

pytestmark = pytest.mark.docker


@pytest.fixture(scope="session")
def ukbb_fcn_image(docker_client: Any, wheelhouse: Path, registry: MethodRegistry) -> str:
    return ensure_image(docker_client, registry.card("ukbb_fcn"), wheelhouse)


def test_verify_ukbb_fcn_under_docker(ukbb_fcn_image: str, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli(), ["method", "verify", "ukbb_fcn", "--executor", "docker",
                                        "--work-dir", str(tmp_path / "work")])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "ukbb_fcn honours the contract under the docker executor" in result.output
    model = tmp_path / "work" / "model"
    assert {"model.pt", "history.csv", "model_info.json", "config.json"} <= {p.name for p in model.iterdir()}
    assert sorted(p.name for p in (tmp_path / "work" / "predictions").iterdir()) == ["demo002_f00.nii.gz",
                                                                                  "demo002_f01.nii.gz"]
