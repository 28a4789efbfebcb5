"""The docker executor against a live engine: exit codes, logs, time limit, out of memory, GPUs, cleanup."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.config.models import DockerExecutor as DockerSettings
from harness.containers.images import LABEL_METHOD
from harness.errors import ExecutorUnavailableError
from harness.executors.base import Invocation, JobResult
from harness.executors.docker import DockerExecutor
from harness.methods import MethodCard, MethodRegistry

pytestmark = pytest.mark.docker


def run_probe(card: MethodCard, tmp_path: Path, params: dict[str, Any], settings: DockerSettings | None = None,
              timeout_s: int = 120) -> tuple[JobResult, Path]:
    data, out = tmp_path / "data", tmp_path / "out"
    data.mkdir()
    out.mkdir()
    (data / "dataset.json").write_text("{}")
    params_path = tmp_path / "params.json"
    params_path.write_text(json.dumps(params))
    invocation = Invocation(card, "train", {"data": data, "out": out, "params": params_path},
                            {"SEGARENA_SEED": "7"}, timeout_s, tmp_path / "logs" / "train.log")
    return DockerExecutor(settings or DockerSettings()).run(invocation), out


def probe_containers(client: Any) -> list[Any]:
    return client.containers.list(all=True, filters={"label": f"{LABEL_METHOD}=probe"})


@pytest.fixture()
def probe(method_images: dict[str, str], registry: MethodRegistry) -> MethodCard:
    return registry.card("probe")


def test_sandbox_as_seen_from_inside(probe: MethodCard, tmp_path: Path, docker_client: Any) -> None:
    result, out = run_probe(probe, tmp_path, {"behaviour": "identity"})
    assert result.status == "done", result.reason
    identity = json.loads((out / "identity.json").read_text())
    assert identity["uid"] != 0 and identity["gid"] != 0
    assert identity["cwd"] == "/out"
    assert identity["tmp_writable"] and not identity["root_writable"]
    assert identity["env"]["SEGARENA_SEED"] == "7" and identity["env"]["CUDA_VISIBLE_DEVICES"] == ""
    assert identity["argv"] == ["train", "--data", "/data/train", "--out", "/out", "--params", "/params.json"]
    assert result.provenance["image_id"].startswith("sha256:")
    assert result.provenance["image"].startswith("segarena/probe:")
    assert "probe: identity" in (tmp_path / "logs" / "train.log").read_text()
    assert (out / "identity.json").stat().st_uid == 0  # handed back to the harness's user (root here)
    assert probe_containers(docker_client) == []


def test_non_zero_exit_is_a_failure_with_the_log_tail(probe: MethodCard, tmp_path: Path, docker_client: Any) -> None:
    result, _ = run_probe(probe, tmp_path, {"behaviour": "fail"})
    assert result.status == "failed" and result.exit_code == 3
    assert "exit code 3" in result.reason and "failing on purpose" in result.reason
    assert probe_containers(docker_client) == []


def test_time_limit_kills_the_container(probe: MethodCard, tmp_path: Path, docker_client: Any) -> None:
    result, out = run_probe(probe, tmp_path, {"behaviour": "sleep", "seconds": 120}, timeout_s=3)
    assert result.status == "timeout", result
    assert "time limit of 3 s" in result.reason
    assert 3 <= result.duration_s < 30
    assert not (out / "done").exists()
    assert probe_containers(docker_client) == []


def test_out_of_memory_is_reported_as_such(probe: MethodCard, tmp_path: Path, docker_client: Any) -> None:
    result, _ = run_probe(probe, tmp_path, {"behaviour": "oom"}, DockerSettings(memory_gb=0.25))
    assert result.status == "oom", result
    assert result.exit_code == 137
    assert "memory limit of 0.25 GB" in result.reason
    assert probe_containers(docker_client) == []


def test_gpu_request_without_nvidia_runtime_is_a_clear_error(probe: MethodCard, tmp_path: Path,
                                                              docker_client: Any) -> None:
    if "nvidia" in (docker_client.info().get("Runtimes") or {}):
        pytest.skip("this engine has the NVIDIA runtime: the error path cannot be shown here")
    gpu_card = probe.model_copy(update={"resources": probe.resources.model_copy(update={"gpu": 1})})
    with pytest.raises(ExecutorUnavailableError, match="nvidia-container-toolkit"):
        run_probe(gpu_card, tmp_path, {"behaviour": "noop"}, DockerSettings(gpus=1))
    assert probe_containers(docker_client) == []  # the created container was removed although start failed


def test_unbuilt_image_names_the_build_command(probe: MethodCard, tmp_path: Path) -> None:
    card = probe.model_copy(update={"image": "segarena-test/never-built", "name": "never_built"})
    result, _ = run_probe(card, tmp_path, {"behaviour": "noop"})
    assert result.status == "failed"
    assert "is not built" in result.reason and "segarena containers build never_built" in result.reason


def test_containers_status_tells_built_from_missing(probe: MethodCard, tmp_path: Path) -> None:
    import shutil

    from typer.testing import CliRunner

    from harness.cli.main import app

    assert probe.folder is not None
    extra = tmp_path / "extra"
    shutil.copytree(probe.folder, extra / "probe_copy")
    card = (extra / "probe_copy" / "method.yaml").read_text()
    (extra / "probe_copy" / "method.yaml").write_text(
        card.replace("name: probe", "name: probe_copy").replace("image: segarena/probe", "image: segarena-test/probe-copy"))
    result = CliRunner().invoke(app, ["containers", "status", "--methods-dir", str(probe.folder.parent),
                                      "--methods-dir", str(extra)], terminal_width=200)
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line for line in result.output.splitlines()[1:] if line.startswith("  ")}
    assert "built segarena/probe:" in lines["probe"]
    assert "not built segarena-test/probe-copy:" in lines["probe_copy"]
    # The hint names every unbuilt method of the listed folders: whatever else the engine lacks (it may or
    # may not hold other images yet), probe_copy is named and the built probe is not.
    hint = next(line for line in result.output.splitlines() if "segarena containers build" in line)
    named = hint.split("segarena containers build", 1)[1].split("`", 1)[0].split()
    assert "probe_copy" in named
    assert "probe" not in named


_HARNESS_RUNNING_A_PROBE = """
import json, sys
from pathlib import Path
from harness.config.models import DockerExecutor as DockerSettings
from harness.executors.base import Invocation
from harness.executors.docker import DockerExecutor
from tests.containers.conftest import registry_with_test_methods

tmp = Path(sys.argv[1])
card = registry_with_test_methods().card("probe")
(tmp / "data").mkdir(); (tmp / "out").mkdir(); (tmp / "data" / "dataset.json").write_text("{}")
(tmp / "params.json").write_text(json.dumps({"behaviour": "sleep", "seconds": 300}))
invocation = Invocation(card, "train", {"data": tmp / "data", "out": tmp / "out", "params": tmp / "params.json"},
                        {}, 600, tmp / "logs" / "train.log", running_dir=tmp / "running")
DockerExecutor(DockerSettings()).run(invocation)
"""


def test_container_of_a_killed_harness_is_removed_by_the_next_run(probe: MethodCard, tmp_path: Path,
                                                                   docker_client: Any) -> None:
    import os
    import signal
    import subprocess
    import sys
    import time

    from harness.executors.processes import end_orphaned_jobs
    from harness.settings import repo_root

    harness = subprocess.Popen([sys.executable, "-c", _HARNESS_RUNNING_A_PROBE, str(tmp_path)], cwd=repo_root())
    deadline = time.monotonic() + 60
    while not [c for c in probe_containers(docker_client) if c.status == "running"] and time.monotonic() < deadline:
        time.sleep(0.5)
    records = list((tmp_path / "running").iterdir())
    assert len(records) == 1 and json.loads(records[0].read_text())["container"] is True
    os.kill(harness.pid, signal.SIGKILL)
    harness.wait()
    assert [c for c in probe_containers(docker_client) if c.status == "running"], "the container outlives its harness"

    ended = end_orphaned_jobs(tmp_path / "running")  # what the next `segarena run` does first
    assert len(ended) == 1
    assert probe_containers(docker_client) == []
    assert list((tmp_path / "running").iterdir()) == []


def test_the_container_peak_memory_is_measured(probe: MethodCard, tmp_path: Path, docker_client: Any) -> None:
    result, _ = run_probe(probe, tmp_path, {"behaviour": "sleep", "seconds": 3})
    assert result.status == "done", result.reason
    peak = result.provenance["peak_memory_mb"]
    assert peak is not None and 1 < peak < 500  # a sleeping Python interpreter, read from the engine's stats
    assert "engine stats" in result.provenance["memory_measured"]
