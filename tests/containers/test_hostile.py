"""A hostile method tries to read the test labels, reach the network and write outside /out.

Under the docker executor each attempt fails, and this test proves each from both sides: the
method's own record of what it tried (attempts.json) and the host (no planted file, no
connection on the loopback server). The same plan under the local executor (a subprocess, no
sandbox) succeeds where it can, which shows that the attempts are real.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from harness.common.dataset import CommonDataset
from harness.config.models import DockerExecutor as DockerSettings
from harness.contract.views import make_images_view
from harness.executors.base import Invocation
from harness.executors.docker import DockerExecutor
from harness.executors.local import LocalExecutor
from harness.methods import MethodRegistry
from harness.runner.verify import synthetic_dataset

pytestmark = pytest.mark.docker


class LoopbackServer:
    """A TCP server on 127.0.0.1 that counts connections (the only address the attack may target)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.connections = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.connections += 1
            conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@pytest.fixture()
def server() -> Iterator[LoopbackServer]:
    srv = LoopbackServer()
    yield srv
    srv.close()


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> CommonDataset:
    return synthetic_dataset(tmp_path_factory.mktemp("hostile-data"), subjects=2, frames=2)


def run_hostile(executor: Any, card: Any, dataset: CommonDataset, work: Path, plan: dict[str, Any]) -> dict[str, Any]:
    test_subject = sorted({r.subject for r in dataset.cases})[-1]
    test_cases = [r for r in dataset.cases if r.subject == test_subject]
    params = work / "params.json"
    params.write_text(json.dumps(plan))
    model, predictions = work / "model", work / "predictions"
    model.mkdir(parents=True)
    predictions.mkdir()
    data = work / "train-data"
    data.mkdir()
    train = executor.run(Invocation(card, "train", {"data": data, "out": model, "params": params}, {}, 120,
                                    work / "train.log"))
    assert train.ok, train.reason
    images = make_images_view(dataset, test_cases, work / "images")
    result = executor.run(Invocation(card, "predict", {"images": images, "model": model, "out": predictions}, {},
                                     120, work / "predict.log"))
    assert result.ok, result.reason
    return json.loads((predictions / "attempts.json").read_text())


def plan_for(dataset: CommonDataset, work: Path, port: int, inside_container: bool) -> dict[str, Any]:
    test_subject = sorted({r.subject for r in dataset.cases})[-1]
    labels = [str(dataset.label_path(r)) for r in dataset.cases if r.subject == test_subject]
    targets = [str(work / "planted-in-job-folder.txt"), str(dataset.root / "labelsTr" / "planted.nii.gz")]
    if inside_container:
        targets += ["/data/images/planted.txt", "/model/planted.txt", "/planted.txt", "/usr/planted.txt"]
    return {"label_paths": labels, "test_cases": [r.case for r in dataset.cases if r.subject == test_subject],
            "connect_to": [f"127.0.0.1:{port}"], "write_targets": targets}


def test_docker_blocks_every_attempt(method_images: dict[str, str], registry: MethodRegistry, dataset: CommonDataset,
                                     server: LoopbackServer, tmp_path: Path) -> None:
    card = registry.card("hostile")
    plan = plan_for(dataset, tmp_path, server.port, inside_container=True)
    attempts = run_hostile(DockerExecutor(DockerSettings()), card, dataset, tmp_path, plan)

    # 1. test labels: neither by their host paths nor anywhere on the container's file system
    reads = attempts["read_labels"]
    assert len(reads) == len(plan["label_paths"]) + 1
    for attempt in reads:
        assert not attempt["succeeded"], attempt
    assert all("FileNotFoundError" in a["detail"] for a in reads[:-1])
    assert reads[-1]["detail"] == []  # the walk of / found no label file of a test case

    # 2. network: the loopback server on the host is out of reach, and there is no interface or route
    connect, view = attempts["network"]
    assert not connect["succeeded"] and "ConnectionRefusedError" in connect["detail"], connect
    assert view["detail"] == {"interfaces": ["lo"], "default_route": False}
    assert server.connections == 0

    # 3. writes outside /out: refused inside (read-only mounts and root), nothing on the host. Host paths
    #    under /tmp name the container's own scratch tmpfs there, which vanishes with the container.
    for attempt in attempts["write_outside"]:
        if attempt["target"].startswith("/tmp/"):
            continue
        assert not attempt["succeeded"], attempt
        assert "Read-only file system" in attempt["detail"], attempt
    assert sum(not a["target"].startswith("/tmp/") for a in attempts["write_outside"]) >= 4
    assert not (tmp_path / "planted-in-job-folder.txt").exists()
    assert not (dataset.root / "labelsTr" / "planted.nii.gz").exists()
    assert not (tmp_path / "images" / "planted.txt").exists()
    assert not (tmp_path / "model" / "planted.txt").exists()
    assert sorted(p.name for p in (tmp_path / "predictions").iterdir()) == ["attempts.json"]


def test_local_executor_is_no_sandbox(registry: MethodRegistry, dataset: CommonDataset, server: LoopbackServer,
                                      tmp_path: Path) -> None:
    """The same attempts as a local subprocess: they succeed, so the docker test above proves something."""
    card = registry.card("hostile")
    plan = plan_for(dataset, tmp_path, server.port, inside_container=False)
    plan["write_targets"] = [str(tmp_path / "planted-in-job-folder.txt")]  # never touch the real dataset
    attempts = run_hostile(LocalExecutor(), card, dataset, tmp_path, plan)
    assert all(a["succeeded"] for a in attempts["read_labels"][:-1])
    assert attempts["network"][0]["succeeded"] and server.connections == 1
    assert attempts["write_outside"][0]["succeeded"]
    assert (tmp_path / "planted-in-job-folder.txt").exists()
