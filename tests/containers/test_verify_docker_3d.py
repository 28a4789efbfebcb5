"""`segarena method verify` of the 3D methods and nnU-Net under docker, with the quick settings of their cards.

Issue 11, item 6: every method's card declares the settings and synthetic dataset verify uses, so that verify
finishes within 3 minutes on 2 cores; here under the docker executor (the images built offline on the local
torch base, like every docker-tier image). vnet verifies on generated LASC-layout volumes, segresnet on
generated BraTS-layout cases (4 channels, regions), nnunet on the demo phantoms.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from harness.methods import MethodRegistry
from tests.containers.conftest import ensure_image
from tests.containers.test_verify_docker import cli

pytestmark = pytest.mark.docker


@pytest.mark.parametrize("method", ["vnet", "segresnet", "nnunet"])
def test_verify_with_the_cards_quick_settings_under_docker(docker_client: Any, wheelhouse: Path,
                                                          registry: MethodRegistry, tmp_path: Path,
                                                          method: str) -> None:
    ensure_image(docker_client, registry.card(method), wheelhouse)
    started = time.monotonic()
    result = CliRunner().invoke(cli(), ["method", "verify", method, "--executor", "docker",
                                        "--work-dir", str(tmp_path / "work")])
    seconds = time.monotonic() - started
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert f"{method} honours the contract under the docker executor" in result.output
    assert seconds < 180, f"verify {method} under docker took {seconds:.0f} s (the card's quick settings: < 3 min)"
    model = tmp_path / "work" / "model"
    if method != "nnunet":
        assert (model / "model_info.json").is_file() and (model / "history.csv").is_file()
    assert len(list((tmp_path / "work" / "predictions").glob("*.nii.gz"))) >= 1
