"""The ray executor without a cluster: its settings, what a job asks for, and that nothing loads Ray early."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.config.models import RayExecutor as RaySettings
from harness.errors import ExecutorUnavailableError
from harness.executors import make_executor
from harness.executors.kinds import EXECUTORS
from harness.methods.registry import MethodRegistry
from harness.settings import repo_root
from tests.conftest import FIXTURES

METHODS = MethodRegistry([FIXTURES / "methods"])


def test_temp_dir_must_be_short_and_absolute() -> None:
    assert RaySettings(temp_dir=Path("/tmp/ray-segarena")).temp_dir == Path("/tmp/ray-segarena")
    for bad in ("relative/ray", "/tmp/" + "x" * 60):
        with pytest.raises(ValueError, match="at most 40 characters .* 107 bytes"):
            RaySettings(temp_dir=Path(bad))


def test_a_gpu_capable_method_asks_for_gpus_per_job_and_never_falls_back() -> None:
    executor = EXECUTORS.get("ray").create(RaySettings(gpus_per_job=2))  # nothing connects yet
    gpu_card, cpu_card = METHODS.card("gpu_wanting"), METHODS.card("slow_baseline")
    wanted = executor.request(gpu_card, 3)
    assert (wanted.cpus, wanted.gpu_count, wanted.memory_gb) == (3, 2, gpu_card.resources.memory_gb)
    assert executor.request(cpu_card, 1).gpu_count == 0
    cpu_only = EXECUTORS.get("ray").create(RaySettings(gpus_per_job=0))
    assert cpu_only.request(gpu_card, 1).gpu_count == 0


def test_an_unreachable_cluster_is_explained_within_seconds() -> None:
    started = time.monotonic()
    with pytest.raises(ExecutorUnavailableError, match=r"cannot reach the Ray cluster at 127\.0\.0\.1:9 .*ray start"):
        make_executor(RaySettings(address="127.0.0.1:9"))
    assert time.monotonic() - started < 10
    with pytest.raises(ExecutorUnavailableError, match="expected host:port"):
        make_executor(RaySettings(address="nonsense"))


PROBE = """
import json, sys
from pathlib import Path
from harness.config import load_benchmark
from harness.executors.kinds import EXECUTORS
bench = load_benchmark(Path(sys.argv[1]))
assert bench.executor.kind == "ray" and bench.executor.gpus_per_job == 1, bench.executor
EXECUTORS.available()
print("MODULES " + json.dumps(sorted(m for m in sys.modules if m.split(".")[0] == "ray")))
"""


def test_validating_a_ray_benchmark_never_imports_ray(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("schema_version: 1\nname: r\nexecutor: {kind: ray, address: '10.0.0.1:6379', gpus_per_job: 1}\n"
                    "datasets: [{name: demo_cine}]\nmethods: [{name: threshold_baseline}]\n")
    done = subprocess.run([sys.executable, "-c", PROBE, str(path)], cwd=repo_root(), capture_output=True, text=True,
                          timeout=60)
    line = next((line for line in done.stdout.splitlines() if line.startswith("MODULES ")), None)
    assert line is not None, done.stderr[-2000:]
    assert json.loads(line.removeprefix("MODULES ")) == []
