"""Under SEGARENA_STRICT_SKIPS=1 (CI), a test that skips because its proof cannot run fails instead."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from harness.settings import repo_root

MISSING_ORACLE = """
import pytest

def test_needs_an_oracle():
    pytest.importorskip("segarena_no_such_oracle")

def test_skips_by_design():
    pytest.skip("not a cine dataset")
"""


def _run(tmp_path: Path, strict: str) -> subprocess.CompletedProcess[str]:
    (tmp_path / "test_missing.py").write_text(MISSING_ORACLE)
    env = {**os.environ, "SEGARENA_STRICT_SKIPS": strict}
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "tests.conftest", "-p", "no:cacheprovider",
                           "--rootdir", str(tmp_path), str(tmp_path / "test_missing.py")],
                          cwd=repo_root(), env=env, capture_output=True, text=True, timeout=120)


def test_a_missing_oracle_fails_in_strict_mode_and_skips_otherwise(tmp_path: Path) -> None:
    strict = _run(tmp_path, "1")
    assert strict.returncode == 1, strict.stdout
    assert "1 failed, 1 skipped" in strict.stdout and "a proof did not run" in strict.stdout
    relaxed = _run(tmp_path, "0")
    assert relaxed.returncode == 0 and "2 skipped" in relaxed.stdout, relaxed.stdout
