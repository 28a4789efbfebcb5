"""Shared fixtures: an isolated cache per session, offline model hubs, a tiny benchmark."""

from __future__ import annotations

import os
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session", autouse=True)
def _isolated_environment(tmp_path_factory: pytest.TempPathFactory) -> None:
    os.environ["SEGARENA_CACHE"] = str(tmp_path_factory.mktemp("segarena-cache"))
    os.environ["HF_HUB_OFFLINE"] = "1"


@pytest.fixture
def write_benchmark(tmp_path: Path) -> Callable[..., Path]:
    """Write a small benchmark file into ``tmp_path``; the body is YAML appended to the header."""

    def write(body: str, name: str = "tiny") -> Path:
        path = tmp_path / f"{name}.yaml"
        path.write_text(
            textwrap.dedent(
                f"""\
                schema_version: 1
                name: {name}
                plugins:
                  methods: [{FIXTURES / 'methods'}]
                report:
                  out: {tmp_path / 'report'}
                run_dir: {tmp_path / 'run'}
                """
            )
            + textwrap.dedent(body)
        )
        return path

    return write


TINY_DEMO = """\
datasets:
  - name: demo_cine
    options: {subjects: 4, frames: 2}
factors:
  split: {kind: holdout, test_fraction: 0.25}
"""
