"""The Ray executor on a real cluster: a head and a worker node, separate processes on this machine.

One cluster for the module (``ray.cluster_utils.Cluster``, 1 CPU per node, a short temp folder, a small
object store, auth disabled, no dashboard). Each test holds whatever order the engine runs jobs in
(one at a time today, concurrently under the scheduler): only "it landed on both nodes" is taken from
SPREAD. Teardown ends every process the cluster started (found by the cluster's ``RAY_TMPDIR`` in
their environment) and fails if one survives.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from harness.config import load_benchmark
from harness.config.models import RayExecutor as RaySettings
from harness.errors import ExecutorUnavailableError
from harness.executors import make_executor
from harness.executors.base import Invocation
from harness.executors.processes import JOB_TOKEN_ENV
from harness.methods.registry import MethodRegistry
from harness.runner import run_benchmark
from harness.store import Store
from tests.conftest import FIXTURES, write_benchmark_file

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                       reason="ray is not installed (pip install ray==2.60.0; `make setup` installs it)"),
]

GIB = 1024**3
NODE = {"num_cpus": 1, "memory": 6 * GIB, "object_store_memory": 80 * 1024**2}
METHODS = MethodRegistry([FIXTURES / "methods"])


@dataclass
class RayCluster:
    cluster: Any
    worker: Any  # the worker node (replaced when a test removes it)
    root: Path  # RAY_TMPDIR of every process of the cluster

    @property
    def address(self) -> str:
        return str(self.cluster.address)

    @property
    def head_id(self) -> str:
        return str(self.cluster.head_node.node_id)

    @property
    def worker_id(self) -> str:
        return str(self.worker.node_id)

    def add_worker(self) -> None:
        self.worker = self.cluster.add_node(**NODE)
        self.cluster.wait_for_nodes()


def _environ(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    except OSError:
        return []


def _pids() -> list[int]:
    return [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit() and int(p.name) != os.getpid()]


#: This test process's own multiprocessing helpers (the harness's worker-pool forkserver and its resource
#: tracker) start while RAY_TMPDIR is set, so they carry it too; they are not the cluster's and end with it.
_OWN_HELPERS = (b"multiprocessing.forkserver", b"multiprocessing.resource_tracker")


def cluster_processes(root: Path) -> list[int]:
    """Every live process started by the cluster (its raylets, workers and the methods they ran)."""
    needle = f"RAY_TMPDIR={root}".encode()
    found = []
    for pid in _pids():
        if needle in _environ(pid):
            try:
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if any(helper in command for helper in _OWN_HELPERS):
                continue
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
            except OSError:
                continue
            if state not in ("Z", "X"):
                found.append(pid)
    return found


def method_processes(root: Path) -> list[int]:
    """The method processes (they carry a job token) of jobs the cluster ran."""
    return [pid for pid in cluster_processes(root) if any(v.startswith(f"{JOB_TOKEN_ENV}=".encode())
                                                          for v in _environ(pid))]


def _parent(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[1])
    except (OSError, IndexError, ValueError):
        return 0


def _descends_from(pid: int, ancestor: int) -> bool:
    while pid > 1:
        pid = _parent(pid)
        if pid == ancestor:
            return True
    return False


@pytest.fixture(scope="module")
def ray_cluster():  # type: ignore[no-untyped-def]
    root = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))  # short: AF_UNIX socket paths are at most 107 bytes
    (root / "ray").mkdir()
    env = {"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": str(root)}
    saved = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    from ray.cluster_utils import Cluster

    cluster = None
    try:
        cluster = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False,
                                                                "temp_dir": str(root / "ray")})
        handle = RayCluster(cluster, None, root)
        handle.add_worker()
        yield handle
    finally:
        import ray

        ray.shutdown()
        if cluster is not None:
            cluster.shutdown()
        deadline = time.monotonic() + 15
        while cluster_processes(root) and time.monotonic() < deadline:
            time.sleep(0.2)
        survivors = cluster_processes(root)
        for pid in survivors:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        shutil.rmtree(root, ignore_errors=True)
        assert not survivors, f"processes of the Ray cluster outlived its shutdown: {survivors}"


def write_bench(folder: Path, executor: str, methods: str, seeds: str = "[0, 1]") -> Path:
    return write_benchmark_file(folder, textwrap.dedent(f"""\
        executor: {executor}
        datasets:
          - name: demo_cine
            options: {{subjects: 4, frames: 2}}
        factors:
          split: {{kind: holdout, test_fraction: 0.25}}
          seeds: {seeds}
        """) + textwrap.dedent(methods), name="rayed")


#: Deterministic, cheap methods: the threshold baseline, and the same with a sleep (so a job can be caught).
BOTH = """\
methods:
  - name: threshold_baseline
  - name: slow_baseline
    params: {sleep_s: 0.3}
"""
SLOW = """\
methods:
  - name: slow_baseline
    params: {sleep_s: 2.5}
"""


def evaluated_metrics(run_dir: Path) -> pd.DataFrame:
    """The metrics of every evaluate job, in one frame sorted by every column (job order never matters)."""
    frames = [pd.read_csv(p) for p in sorted((run_dir / "jobs" / "evaluate").glob("*/metrics.csv"))]
    frame = pd.concat(frames, ignore_index=True)
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


@pytest.fixture(scope="module")
def local_metrics(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """The same benchmark under the local executor: what the Ray runs must reproduce."""
    folder = tmp_path_factory.mktemp("local")
    summary = run_benchmark(load_benchmark(write_bench(folder, "{kind: local}", BOTH)))
    assert summary.ok, summary.failed
    return evaluated_metrics(summary.run_dir)


def method_records(run_dir: Path) -> list[Any]:
    store = Store(run_dir / "store.sqlite")
    try:
        return [r for r in store.all() if r.kind in ("train", "predict")]
    finally:
        store.close()


def ray_executor(cluster: RayCluster, **settings: Any) -> Any:
    return make_executor(RaySettings(address=cluster.address, **settings))


def invocation(card_name: str, folder: Path, timeout_s: int = 60) -> Invocation:
    data, out = folder / "data", folder / "out"
    data.mkdir(parents=True)
    out.mkdir()
    return Invocation(METHODS.card(card_name), "train", {"data": data, "out": out},
                      {"SEGARENA_SEED": "0", "SEGARENA_FOLD": "0"}, timeout_s, folder / "job" / "train.log",
                      folder / "running")


# -- (a) a benchmark on two nodes, the same metrics as under local ---------------------------------------
def test_jobs_land_on_both_nodes_with_the_metrics_of_local(ray_cluster: RayCluster, local_metrics: pd.DataFrame,
                                                           tmp_path: Path) -> None:
    executor = f"{{kind: ray, address: '{ray_cluster.address}'}}"
    summary = run_benchmark(load_benchmark(write_bench(tmp_path, executor, BOTH)))
    assert summary.ok, summary.failed
    records = method_records(summary.run_dir)
    assert len(records) == 8
    nodes = {r.name: r.output.provenance["ray"]["node_id"] for r in records}
    assert set(nodes.values()) == {ray_cluster.head_id, ray_cluster.worker_id}, nodes
    for record in records:
        provenance = record.output.provenance
        assert provenance["executor"] == "ray" and provenance["inner_executor"] == "local"
        assert provenance["ray"]["attempts"] == 1 and provenance["ray"]["ray_version"] == "2.60.0"
        assert provenance["ray"]["hostname"] and provenance["ray"]["node_ip"] and provenance["ray"]["gpu_ids"] == []
        assert provenance["method_code_sha256"]  # the inner executor's own provenance is kept
        # the inner executor wrote the job's log into the run folder, wherever the job ran
        log = Path(record.output.log)
        assert log.is_file() and summary.run_dir in log.parents
        assert f"{record.name.split()[1]}:" in log.read_text(), log.read_text()[-500:]
    pd.testing.assert_frame_equal(evaluated_metrics(summary.run_dir), local_metrics)
    assert not (summary.run_dir / "running").exists() or not list((summary.run_dir / "running").iterdir())


# -- (b) the worker node dies mid-job: the job starts again elsewhere, the results are the same --------------
def test_a_job_whose_node_dies_is_run_again_with_identical_results(ray_cluster: RayCluster,
                                                                   local_metrics: pd.DataFrame,
                                                                   tmp_path: Path) -> None:
    killed: dict[str, Any] = {}
    stop = threading.Event()

    def kill_the_worker_node_mid_job() -> None:
        raylet = ray_cluster.worker.all_processes["raylet"][0].process.pid
        while not stop.is_set():
            running = [pid for pid in method_processes(ray_cluster.root) if _descends_from(pid, raylet)]
            if running:
                time.sleep(0.5)  # well inside the method's 2.5 s sleep
                killed["node_id"], killed["pids"] = ray_cluster.worker_id, running
                ray_cluster.cluster.remove_node(ray_cluster.worker)
                return
            time.sleep(0.05)

    watcher = threading.Thread(target=kill_the_worker_node_mid_job, daemon=True)
    executor = f"{{kind: ray, address: '{ray_cluster.address}'}}"
    watcher.start()
    try:
        summary = run_benchmark(load_benchmark(write_bench(tmp_path, executor, SLOW)))
    finally:
        stop.set()
        watcher.join(timeout=30)
        if killed:
            ray_cluster.add_worker()  # the next tests get a two-node cluster again
    assert killed, "no job ran on the worker node (SPREAD placed every job on the head)"
    assert summary.ok, summary.failed
    records = method_records(summary.run_dir)
    retried = [r for r in records if r.output.provenance["ray"]["attempts"] > 1]
    assert len(retried) == 1, [(r.name, r.output.provenance["ray"]) for r in records]
    (record,) = retried
    facts = record.output.provenance["ray"]
    assert facts["attempts"] == 2 and [d["node_id"] for d in facts["died"]] == [killed["node_id"]]
    assert facts["node_id"] != killed["node_id"]
    assert all(r.output.provenance["ray"]["attempts"] == 1 for r in records if r is not record)
    log = Path(record.output.log)
    assert log.with_name(f"{log.stem}.attempt1{log.suffix}").is_file()  # the dead attempt's log is kept
    # the dead attempt's method (its own session: the node's death does not end it) was ended
    assert not [pid for pid in killed["pids"] if Path(f"/proc/{pid}").exists()
                and Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in "ZX"]
    expected = local_metrics[local_metrics["method"] == "slow_baseline"].reset_index(drop=True)
    pd.testing.assert_frame_equal(evaluated_metrics(summary.run_dir), expected)
    assert record.attempts == 2  # the scheduler records it in the store's attempts column


# -- (c) a GPU the cluster lacks: fails at once, saying what was asked and what each node has ---------------
def test_a_gpu_request_no_node_can_satisfy_fails_fast(ray_cluster: RayCluster, tmp_path: Path) -> None:
    executor = ray_executor(ray_cluster, gpus_per_job=1)
    card = METHODS.card("gpu_wanting")
    assignment = executor.request(card, 1)
    assert assignment.gpu_count == 1 and executor.capacity().gpu_count == 0  # the scheduler can refuse it at once
    assert executor.request(METHODS.card("slow_baseline"), 1).gpu_count == 0  # CPU-only methods ask for none
    capacity = executor.capacity()
    assert capacity.cpus == 2 and "2 nodes" in capacity.where and capacity.largest_node[0] == 1
    job = invocation("gpu_wanting", tmp_path)
    started = time.monotonic()
    result = executor.run(dataclasses.replace(job, assignment=assignment))
    assert time.monotonic() - started < 10
    assert result.status == "failed" and result.attempts == 0
    assert "asks for 1 CPU, 1 GPU" in result.reason and "gpus_per_job = 1" in result.reason
    assert result.reason.count("0 GPU") == 2, result.reason  # each node, with what it has
    assert not (tmp_path / "job" / "train.log").exists()  # it never started


# -- (d) the shared-storage check -------------------------------------------------------------------------------
def _can_unshare() -> bool:
    return shutil.which("unshare") is not None and subprocess.run(
        ["unshare", "--mount", "true"], capture_output=True).returncode == 0


def _alive_count(executor: Any) -> int:
    return len(executor.alive_nodes(0.0))


def test_the_shared_storage_check_names_a_node_that_sees_another_run_folder(ray_cluster: RayCluster,
                                                                            tmp_path: Path) -> None:
    executor = ray_executor(ray_cluster)
    run_dir = tmp_path / "run"
    executor.prepare(run_dir)  # both nodes see this machine's folders
    assert not (run_dir / ".segarena-nodes").exists()  # every marker read back and removed
    if not _can_unshare():
        pytest.skip("cannot create a private mount namespace on this machine (unshare --mount needs root)")
    # A third node whose run folder is another file system at the same path (a node that does not mount
    # the shared storage): its own mount namespace, a tmpfs over run_dir.
    ray_bin = Path(sys.executable).with_name("ray")
    script = (f"mount -t tmpfs segarena-test {run_dir} && exec {ray_bin} start --address={ray_cluster.address} "
              f"--num-cpus=1 --memory={6 * GIB} --object-store-memory={80 * 1024**2} --block")
    blind = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c", script],
                             start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    before = {n["NodeID"] for n in executor.alive_nodes(0.0)}
    try:
        deadline = time.monotonic() + 60
        while _alive_count(executor) < 3:
            assert blind.poll() is None, blind.stderr.read().decode() if blind.stderr else ""
            assert time.monotonic() < deadline, "the third node did not join"
            time.sleep(0.3)
        (third,) = {n["NodeID"] for n in executor.alive_nodes(0.0)} - before
        with pytest.raises(ExecutorUnavailableError) as caught:
            executor.prepare(run_dir)
        message = str(caught.value)
        assert f"not every node sees the run folder {run_dir}" in message
        assert f"({third[:8]}): wrote {run_dir}/.segarena-nodes/{third}-" in message and "does not see it" in message
        assert ray_cluster.head_id[:8] not in message and ray_cluster.worker_id[:8] not in message
        assert "must be on storage every node mounts at the same path" in message
    finally:
        blind.send_signal(signal.SIGTERM)  # `ray start --block` stops its node's processes
        try:
            blind.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(blind.pid, signal.SIGKILL)
            blind.wait(timeout=10)
        for pid in _pids():  # anything of that node's session still running
            try:
                if int(Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[3]) == blind.pid:
                    os.kill(pid, signal.SIGKILL)
            except (OSError, IndexError, ValueError):
                pass
        deadline = time.monotonic() + 60
        while _alive_count(executor) > 2 and time.monotonic() < deadline:
            time.sleep(0.5)
    assert _alive_count(executor) == 2


# -- (e) a method's own failure is never retried -------------------------------------------------------------
def test_a_method_failure_is_not_retried(ray_cluster: RayCluster, tmp_path: Path) -> None:
    result = ray_executor(ray_cluster).run(invocation("crashy", tmp_path))
    assert result.status == "failed" and result.exit_code == 1 and "deliberate crash" in result.reason
    assert result.attempts == 1 and result.provenance["ray"]["attempts"] == 1
    assert result.provenance["ray"]["node_id"] in (ray_cluster.head_id, ray_cluster.worker_id)
    assert "deliberate crash" in (tmp_path / "job" / "train.log").read_text()


# -- cancel: every running job returns "cancelled" soon, and its method is ended --------------------------------
def test_cancel_stops_a_running_job_and_its_method(ray_cluster: RayCluster, tmp_path: Path) -> None:
    executor = ray_executor(ray_cluster)
    results: list[Any] = []
    job = invocation("sleepy", tmp_path, timeout_s=300)
    runner = threading.Thread(target=lambda: results.append(executor.run(job)), daemon=True)
    runner.start()
    deadline = time.monotonic() + 60
    while not method_processes(ray_cluster.root):
        assert time.monotonic() < deadline and runner.is_alive(), results
        time.sleep(0.1)
    started = time.monotonic()
    executor.cancel()
    runner.join(timeout=30)
    assert not runner.is_alive() and time.monotonic() - started < 15
    (result,) = results
    assert result.status == "cancelled", result
    deadline = time.monotonic() + 10
    while method_processes(ray_cluster.root) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert method_processes(ray_cluster.root) == []
    assert executor.run(invocation("crashy", tmp_path / "later")).status == "cancelled"  # after cancel: at once


def test_ctrl_c_in_the_waiting_thread_stops_the_task_and_its_method(ray_cluster: RayCluster, tmp_path: Path) -> None:
    """The sequential engine never calls cancel(): a KeyboardInterrupt while run() waits must not leave the job."""
    import _thread

    executor = ray_executor(ray_cluster)
    job = invocation("sleepy", tmp_path, timeout_s=300)

    def interrupt_once_the_method_runs() -> None:
        deadline = time.monotonic() + 60
        while not method_processes(ray_cluster.root) and time.monotonic() < deadline:
            time.sleep(0.1)
        _thread.interrupt_main()

    threading.Thread(target=interrupt_once_the_method_runs, daemon=True).start()
    with pytest.raises(KeyboardInterrupt):
        executor.run(job)
    deadline = time.monotonic() + 10
    while method_processes(ray_cluster.root) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert method_processes(ray_cluster.root) == []
