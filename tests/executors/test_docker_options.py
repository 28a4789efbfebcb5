"""The docker executor's container arguments and clean-up, with the Docker SDK client mocked (no engine)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any
from unittest import mock

import docker
import pytest
import requests

from harness.config.models import DockerExecutor as DockerSettings
from harness.errors import ConfigError, ExecutorUnavailableError
from harness.executors import make_executor
from harness.executors.base import Assignment, Invocation
from harness.executors.docker import ROOTLESS_FALLBACK_USER, DockerExecutor, container_user
from harness.methods import MethodCard

GIB = 1024**3


@pytest.fixture()
def card(tmp_path: Path) -> MethodCard:
    folder = tmp_path / "methods" / "toy"
    folder.mkdir(parents=True)
    (folder / "method.yaml").write_text(
        "name: toy\ntitle: Toy\nimage: segarena-test/toy\nresources: {gpu: 0, memory_gb: 3, time_limit_s: 60}\n"
    )
    (folder / "main.py").write_text("print('toy')\n")
    return MethodCard.load(folder / "method.yaml")


def gpu_card(card: MethodCard) -> MethodCard:
    return card.model_copy(update={"resources": card.resources.model_copy(update={"gpu": 1})})


@pytest.fixture()
def train(card: MethodCard, tmp_path: Path) -> Invocation:
    for name in ("data", "out"):
        (tmp_path / name).mkdir()
    (tmp_path / "params.json").write_text("{}")
    return Invocation(card, "train", {"data": tmp_path / "data", "out": tmp_path / "out",
                                      "params": tmp_path / "params.json"},
                      {"SEGARENA_SEED": "3"}, 60, tmp_path / "job" / "train.log")


def with_card(invocation: Invocation, card: MethodCard) -> Invocation:
    return Invocation(card, invocation.command, invocation.mounts, invocation.env, invocation.timeout_s,
                      invocation.log_path)


def fake_client(container: Any) -> mock.MagicMock:
    client = mock.MagicMock()
    client.images.get.return_value = mock.MagicMock(id="sha256:" + "ab" * 32, attrs={"RepoDigests": [], "Size": 1})
    client.version.return_value = {"Version": "20.10.24"}
    client.containers.create.return_value = container
    return client


def fake_container(status_code: int = 0, oom: bool = False) -> mock.MagicMock:
    container = mock.MagicMock()
    container.wait.return_value = {"StatusCode": status_code}
    container.attrs = {"State": {"OOMKilled": oom}}
    container.logs.return_value = iter([b"hello from the method\n"])
    return container


# -- arguments -------------------------------------------------------------------------------------

def test_mounts_read_only_except_out(train: Invocation, tmp_path: Path) -> None:
    options = DockerExecutor(DockerSettings(), client=mock.MagicMock()).container_options(train)
    assert options["volumes"] == {
        str(tmp_path / "data"): {"bind": "/data/train", "mode": "ro"},
        str(tmp_path / "out"): {"bind": "/out", "mode": "rw"},
        str(tmp_path / "params.json"): {"bind": "/params.json", "mode": "ro"},
    }
    assert options["command"] == ["train", "--data", "/data/train", "--out", "/out", "--params", "/params.json"]
    assert options["working_dir"] == "/out"


def test_sandbox_options(train: Invocation) -> None:
    options = DockerExecutor(DockerSettings(), client=mock.MagicMock()).container_options(train)
    assert options["network_mode"] == "none"
    assert options["read_only"] is True
    assert set(options["tmpfs"]) == {"/tmp"}
    assert options["cap_drop"] == ["ALL"]
    assert "no-new-privileges" in options["security_opt"]
    assert options["user"].split(":")[0] not in ("0", "root")
    assert options["environment"]["SEGARENA_SEED"] == "3"
    assert options["environment"]["CUDA_VISIBLE_DEVICES"] == ""
    assert options["environment"]["HOME"] == "/tmp"
    assert "device_requests" not in options


def test_limits_from_card_or_settings(train: Invocation) -> None:
    options = DockerExecutor(DockerSettings(), client=mock.MagicMock()).container_options(train)
    assert options["mem_limit"] == options["memswap_limit"] == 3 * GIB  # the card's memory_gb
    assert options["shm_size"] == 1 * GIB
    assert "nano_cpus" not in options
    options = DockerExecutor(DockerSettings(memory_gb=1.5, cpus=1.5, shm_gb=2), client=mock.MagicMock()
                             ).container_options(train)
    assert options["mem_limit"] == int(1.5 * GIB)
    assert options["nano_cpus"] == 1_500_000_000
    assert options["shm_size"] == 2 * GIB
    assert options["environment"]["SEGARENA_THREADS"] == "1"


def test_each_job_requests_exactly_its_assigned_devices(train: Invocation, card: MethodCard) -> None:
    invocation = with_card(train, gpu_card(card))
    executor = DockerExecutor(DockerSettings(gpus=2), client=mock.MagicMock())
    assert executor.capacity().gpus == ("0", "1")  # a count names devices 0..N-1
    for devices in (("1",), ("0", "1")):
        assigned = dataclasses.replace(invocation, assignment=Assignment(cpus=1, gpus=devices, memory_gb=3))
        options = executor.container_options(assigned)
        (request,) = options["device_requests"]
        assert request["DeviceIDs"] == list(devices) and request["Capabilities"] == [["gpu"]]
        assert "Count" not in request or not request["Count"]
        assert "CUDA_VISIBLE_DEVICES" not in options["environment"]
        assert options["nano_cpus"] == 1_000_000_000 and options["environment"]["SEGARENA_THREADS"] == "1"
    # a GPU-capable job the scheduler gave no device runs on the CPU and sees none
    cpu_only = dataclasses.replace(invocation, assignment=Assignment(cpus=2, memory_gb=3))
    options = executor.container_options(cpu_only)
    assert "device_requests" not in options and options["environment"]["CUDA_VISIBLE_DEVICES"] == ""
    assert options["environment"]["SEGARENA_THREADS"] == "2"
    ids = DockerExecutor(DockerSettings(gpus=["0", "GPU-3f2a"]), client=mock.MagicMock())
    assert ids.capacity().gpus == ("0", "GPU-3f2a")


def test_cpu_only_method_gets_no_gpu(train: Invocation) -> None:
    options = DockerExecutor(DockerSettings(gpus=2), client=mock.MagicMock()).container_options(train)
    assert "device_requests" not in options


def test_user_is_never_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("os.getuid", lambda: 0)
    monkeypatch.setattr("os.getgid", lambda: 0)
    assert container_user() == ROOTLESS_FALLBACK_USER
    monkeypatch.setattr("os.getuid", lambda: 1234)
    monkeypatch.setattr("os.getgid", lambda: 99)
    assert container_user() == "1234:99"
    assert container_user("2000:2000") == "2000:2000"
    with pytest.raises(ConfigError, match="root"):
        container_user("0:0")
    assert DockerExecutor(DockerSettings(user="2001:2002"), client=mock.MagicMock()).user == "2001:2002"
    with pytest.raises(ConfigError, match="root"):
        DockerExecutor(DockerSettings(user="0"), client=mock.MagicMock())


# -- running, with a mocked engine ----------------------------------------------------------------

def test_done_records_image_digest_and_removes_container(train: Invocation) -> None:
    container = fake_container()
    client = fake_client(container)
    result = DockerExecutor(DockerSettings(), client=client).run(train)
    assert result.status == "done", result.reason
    assert result.provenance["image_id"] == "sha256:" + "ab" * 32
    assert result.provenance["image"].startswith("segarena-test/toy:")
    assert result.provenance["network"] == "none"
    container.remove.assert_called_once_with(force=True)
    assert "hello from the method" in train.log_path.read_text()


def test_container_removed_when_start_fails(train: Invocation) -> None:
    container = fake_container()
    container.start.side_effect = docker.errors.APIError("500 Server Error", explanation="invalid mount config")
    result = DockerExecutor(DockerSettings(), client=fake_client(container)).run(train)
    assert result.status == "failed" and "did not start" in result.reason
    container.remove.assert_called_once_with(force=True)


def test_gpu_without_nvidia_runtime_is_unavailable_and_cleaned(train: Invocation, card: MethodCard) -> None:
    container = fake_container()
    container.start.side_effect = docker.errors.APIError(
        "500 Server Error", explanation='could not select device driver "" with capabilities: [[gpu]]')
    executor = DockerExecutor(DockerSettings(gpus=1), client=fake_client(container))
    with pytest.raises(ExecutorUnavailableError, match="NVIDIA Container Toolkit"):
        executor.run(with_card(train, gpu_card(card)))
    container.remove.assert_called_once_with(force=True)


def test_timeout_kills(train: Invocation) -> None:
    container = fake_container()
    container.wait.side_effect = [requests.exceptions.ConnectionError("read timed out"), {"StatusCode": 137}]
    timed = Invocation(train.method, "train", train.mounts, train.env, 0, train.log_path)
    result = DockerExecutor(DockerSettings(), client=fake_client(container)).run(timed)
    assert result.status == "timeout"
    container.kill.assert_called_once()
    container.remove.assert_called_once_with(force=True)


def test_oom_and_failure(train: Invocation) -> None:
    result = DockerExecutor(DockerSettings(), client=fake_client(fake_container(137, oom=True))).run(train)
    assert result.status == "oom" and "memory limit of 3 GB" in result.reason
    result = DockerExecutor(DockerSettings(), client=fake_client(fake_container(2))).run(train)
    assert result.status == "failed" and result.exit_code == 2 and "hello from the method" in result.reason


def test_missing_image_says_how_to_build(train: Invocation) -> None:
    client = fake_client(fake_container())
    client.images.get.side_effect = docker.errors.ImageNotFound("no such image")
    result = DockerExecutor(DockerSettings(), client=client).run(train)
    assert result.status == "failed"
    assert "segarena containers build toy" in result.reason
    client.containers.create.assert_not_called()


def test_no_daemon_says_how_to_start_one(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no-such.sock")
    with pytest.raises(ExecutorUnavailableError, match="containers/engine.sh start"):
        make_executor(DockerSettings())


def test_a_run_stops_before_any_job_when_an_image_is_not_built(write_benchmark: Any, monkeypatch: pytest.MonkeyPatch,
                                                              tmp_path: Path) -> None:
    from harness.config import load_benchmark
    from harness.runner import run_benchmark

    client = fake_client(mock.MagicMock())
    client.images.get.side_effect = docker.errors.ImageNotFound("no such image")
    monkeypatch.setattr("harness.executors.docker.connect", lambda: client)
    bench = load_benchmark(write_benchmark(
        "datasets: [{name: demo_cine, options: {subjects: 2, frames: 1}}]\n"
        "methods: [{name: threshold_baseline}]\n"
        "executor: {kind: docker}\n"
    ))
    with pytest.raises(ExecutorUnavailableError) as caught:
        run_benchmark(bench)
    message = str(caught.value)
    assert "method 'threshold_baseline': image segarena/threshold-baseline:" in message and "is not built" in message
    assert "segarena containers build threshold_baseline" in message
    assert not (tmp_path / "run" / "jobs").exists()  # nothing was converted, trained or scored
