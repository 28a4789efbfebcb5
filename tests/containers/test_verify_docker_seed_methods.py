"""`segarena method verify` of fcn and pyramid2d under docker: built offline on the local torch base."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.methods import MethodRegistry
from tests.containers.conftest import ensure_image
from tests.containers.test_verify_docker import cli

pytestmark = pytest.mark.docker


@pytest.mark.parametrize("name", ["fcn", "pyramid2d"])
def test_verify_under_docker(name: str, docker_client: Any, wheelhouse: Path, registry: MethodRegistry,
                             tmp_path: Path) -> None:
    ensure_image(docker_client, registry.card(name), wheelhouse)
    result = CliRunner().invoke(cli(), ["method", "verify", name, "--executor", "docker",
                                        "--work-dir", str(tmp_path / "work")])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert f"{name} honours the contract under the docker executor" in result.output
    assert sorted(p.name for p in (tmp_path / "work" / "predictions").iterdir()) == ["demo002_f00.nii.gz",
                                                                                  "demo002_f01.nii.gz"]
    assert (tmp_path / "work" / "model" / "model_info.json").is_file()
