"""The ray executor without an address: a single-node Ray inside the harness's process, locked with a token."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from harness.settings import repo_root
from tests.conftest import FIXTURES

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                       reason="ray is not installed (pip install ray==2.60.0; `make setup` installs it)"),
]

PROBE = """
import json, os, sys
from pathlib import Path
from harness.config.models import RayExecutor
from harness.executors import make_executor
from harness.executors.base import Invocation
from harness.methods.registry import MethodRegistry
folder, temp = Path(sys.argv[1]), sys.argv[2]
executor = make_executor(RayExecutor(temp_dir=temp, num_cpus=1))
(folder / "data").mkdir(); (folder / "out").mkdir()
card = MethodRegistry([Path(sys.argv[3])]).card("crashy")
result = executor.run(Invocation(card, "train", {"data": folder / "data", "out": folder / "out"}, {}, 60,
                                 folder / "job" / "train.log", folder / "running"))
executor.close()
print("RESULT " + json.dumps({"status": result.status, "cluster": result.provenance["ray"]["cluster"],
                              "mode": os.environ["RAY_AUTH_MODE"], "token": len(os.environ.get("RAY_AUTH_TOKEN", ""))}))
"""


def test_a_local_ray_runs_jobs_with_a_random_token_never_written_to_disk(tmp_path: Path) -> None:
    temp = tempfile.mkdtemp(prefix="r", dir="/tmp")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAY_")}
    env.update(HOME=str(tmp_path / "home"), PYTHONPATH=str(repo_root()))
    try:
        done = subprocess.run([sys.executable, "-c", PROBE, str(tmp_path), temp, str(FIXTURES / "methods")], env=env,
                              cwd=repo_root(), capture_output=True, text=True, timeout=240)
    finally:
        subprocess.run(["rm", "-rf", temp])
    line = next((line for line in done.stdout.splitlines() if line.startswith("RESULT ")), None)
    assert line is not None, done.stdout[-2000:] + done.stderr[-3000:]
    answer = json.loads(line.removeprefix("RESULT "))
    assert answer["status"] == "failed" and answer["cluster"] == "local"  # crashy ran, on the local Ray
    assert answer["mode"] == "token" and answer["token"] == 64
    assert not (tmp_path / "home" / ".ray").exists()  # Ray would keep a generated token there
    assert "deliberate crash" in (tmp_path / "job" / "train.log").read_text()
