"""Ray executor: each job is one Ray task on some node of a Ray cluster, running the inner contract there.

The task (``_run_on_node``) builds the ``inner`` executor (``local`` or ``docker``) on its node with the
job's Ray assignment (CPU slots, the GPU ids Ray gave it, memory) and runs the same contract as on one
machine; the job's folders and log are in the run folder, which every node mounts at the same path
(checked by :meth:`RayExecutor.prepare`). Ray itself never retries a task (``max_retries=0``): when the
node or the Ray worker dies, this executor clears the job's ``--out``, ends what the attempt left on this
machine and starts the job again, at most ``max_node_retries`` times, counting ``JobResult.attempts``; a
method's own failure is never retried. Waiting is ``ray.wait`` with a timeout, never a ``ray.get`` a dead
node could hang. ``import ray`` happens only here, inside functions: listing or validating never loads it.

Security of the cluster (token auth, dashboard, ports) is set where the cluster is started; see
README.md, "Ray". A local single-node Ray (no ``address``) lives inside this process and ends with it:
no dashboard, no usage statistics, and token auth with a random token held only in this process's
environment (Ray's GCS and raylet listen on every interface, so "disabled" would let anyone who
reaches the ports run code as this user while the run lasts); ``auth: disabled`` or
``RAY_AUTH_MODE=disabled`` turns it off.
"""

from __future__ import annotations

import dataclasses
import logging
import os
import secrets
import shutil
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import harness
from harness.config.models import DockerExecutor as DockerSettings
from harness.config.models import RayExecutor as RaySettings
from harness.errors import ExecutorUnavailableError
from harness.executors.base import Assignment, Availability, Capacity, Executor, Invocation, JobResult
from harness.executors.kinds import ExecutorKind
from harness.executors.processes import end_orphaned_jobs, is_alive
from harness.settings import cache_dir

log = logging.getLogger(__name__)

_GIB = 1024**3
#: How often a waiting ``run`` looks at cancel and at its node (``ray.wait`` returns at once when the task ends).
POLL_S = 0.5
#: A cancelled task gets this long to end its method itself (KeyboardInterrupt) before its worker is killed.
CANCEL_GRACE_S = 5.0
#: Beyond the method's own time limit (enforced by the inner executor on the node), the driver's last guard.
DRIVER_TIME_GUARD_S = 120.0
#: The folder of the shared-storage markers, inside the run folder (and the cache).
NODES_DIR = ".segarena-nodes"
SHARED_STORAGE_HINT = ("the run folder must be on storage every node mounts at the same path (and so must the "
                       "cache, the checkout and the method folders); see README.md, \"Ray\"")


# -- on the node ----------------------------------------------------------------------------------
def _node_facts() -> dict[str, Any]:
    import ray

    context = ray.get_runtime_context()
    return {"node_id": context.get_node_id(), "node_ip": ray.util.get_node_ip_address(),
            "hostname": socket.gethostname(), "worker_pid": os.getpid(), "ray_version": ray.__version__,
            "gpu_ids": [str(g) for g in ray.get_gpu_ids()]}


def inner_executor(inner: str, docker: DockerSettings, assignment: Assignment) -> Executor:
    """The executor a job runs under on its node, holding exactly the job's assignment."""
    if inner == "docker":
        from harness.executors.docker import DockerExecutor

        settings = docker.model_copy(update={"gpus": list(assignment.gpus), "cpus": float(assignment.cpus),
                                             "memory_gb": docker.memory_gb or assignment.memory_gb})
        return DockerExecutor(settings)
    from harness.executors.local import LocalExecutor

    return LocalExecutor(threads=assignment.cpus)


def _run_on_node(invocation: Invocation, inner: str, docker: DockerSettings, cpus: int, memory_gb: float) -> Any:
    """The Ray task of one job (a streaming generator): first where it runs, then the inner executor's result."""
    facts = _node_facts()
    yield facts
    assignment = Assignment(cpus=cpus, gpus=tuple(facts["gpu_ids"]), memory_gb=memory_gb)
    executor = inner_executor(inner, docker, assignment)
    availability = executor.availability()
    if not availability.available:
        yield JobResult("failed", None, 0.0, f"the {inner} executor cannot run on node {facts['hostname']} "
                                             f"({facts['node_ip']}): {availability.missing}")
        return
    yield executor.run(dataclasses.replace(invocation, assignment=assignment))


def _mark(folders: list[str], token: str) -> dict[str, Any]:
    """The shared-storage check on one node: write a marker in each folder; what failed, per folder."""
    facts = _node_facts()
    errors: dict[str, str] = {}
    for folder in folders:
        root = Path(folder)
        if not root.is_dir():
            errors[folder] = "does not exist on this node"
            continue
        try:
            (root / NODES_DIR).mkdir(exist_ok=True)
            (root / NODES_DIR / f"{facts['node_id']}-{token}").write_text(token)
        except OSError as err:
            errors[folder] = f"cannot be written on this node ({err})"
    return {**facts, "errors": errors}


# -- on the driver --------------------------------------------------------------------------------
class _Attempt:
    """What one start of a job ended with."""

    def __init__(self, kind: str, node: dict[str, Any] | None, result: JobResult | None = None, error: str = "",
                 killed: bool = False) -> None:
        self.kind = kind  # "result" | "node_died" | "cancelled" | "failed" | "timeout" | "oom"
        self.node = node
        self.result = result
        self.error = error
        self.killed = killed  # its Ray worker was killed (force cancel): what it started may be left over


class RayExecutor(Executor):
    name = "ray"

    def __init__(self, settings: RaySettings | None = None) -> None:
        self.settings = settings or RaySettings()
        self._lock = threading.Lock()
        self._prepare_lock = threading.Lock()  # the first jobs of a run wait for one shared-storage check
        self._cancelled = threading.Event()
        self._inflight: dict[str, Any] = {}  # id → the ObjectRefGenerator of a running task
        self._connected = False
        self._prepared: set[Path] = set()
        self._nodes_at = 0.0
        self._nodes: list[dict[str, Any]] = []
        self._remote: Any = None
        self._mark_remote: Any = None

    # -- connection ----------------------------------------------------------------------------
    @property
    def where(self) -> str:
        return f"the Ray cluster at {self.settings.address}" if self.settings.address else "the local Ray"

    def availability(self) -> Availability:
        if self.settings.address is not None:
            problem = _unreachable(self.settings.address)
            if problem:
                return Availability(False, f"cannot reach the Ray cluster at {self.settings.address} ({problem}): "
                                           "start it (`ray start --head --port=PORT ...`, README.md \"Ray\") or fix "
                                           "executor.address")
        try:
            self._connect()
        except ExecutorUnavailableError as err:
            return Availability(False, str(err))
        return Availability(True)

    def _environment(self) -> None:
        """The driver's Ray variables: no usage statistics; auth as configured (a local Ray: a random token)."""
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        if self.settings.auth is not None:
            os.environ["RAY_AUTH_MODE"] = self.settings.auth
        elif self.settings.address is None:
            os.environ.setdefault("RAY_AUTH_MODE", "token")
        if (self.settings.address is None and os.environ["RAY_AUTH_MODE"] == "token"
                and not os.environ.get("RAY_AUTH_TOKEN") and self.settings.auth_token_path is None):
            # never written to disk (Ray would otherwise create ~/.ray/auth_token); inherited by the local Ray only
            os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)
        if self.settings.auth_token_path is not None:
            os.environ["RAY_AUTH_TOKEN_PATH"] = str(self.settings.auth_token_path)

    def _connect(self) -> None:
        with self._lock:
            if self._connected:
                return
            self._environment()
            import ray

            if ray.is_initialized():
                current = ray.get_runtime_context().gcs_address
                if self.settings.address is not None and current == self.settings.address:
                    self._connected = True  # this process is already a driver of that cluster
                    return
                ray.shutdown()
            common: dict[str, Any] = {"namespace": self.settings.namespace, "log_to_driver": False}
            try:
                if self.settings.address is None:
                    ray.init(address="local", num_cpus=self.settings.num_cpus, include_dashboard=False,
                             object_store_memory=self.settings.object_store_mb * 1024**2,
                             _temp_dir=str(self.settings.temp_dir) if self.settings.temp_dir else None, **common)
                else:  # explicit, never the auto-discovery of RAY_ADDRESS or an earlier `ray start`
                    ray.init(address=self.settings.address, **common)
            except Exception as err:  # ConnectionError, AuthenticationError, RuntimeError, ...
                raise ExecutorUnavailableError(
                    f"cannot connect to {self.where}: {type(err).__name__}: {err} (token auth: RAY_AUTH_MODE=token "
                    "and the cluster's RAY_AUTH_TOKEN here too; README.md \"Ray\")") from err
            self._connected = True

    def worker_env(self) -> dict[str, str]:
        """The environment of the jobs' Ray workers: the checkout on PYTHONPATH, this process's SEGARENA_*."""
        checkout = str(Path(harness.__file__).resolve().parents[1])
        paths = [checkout, *(p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != checkout)]
        env = {name: value for name, value in os.environ.items() if name.startswith("SEGARENA_")}
        env["PYTHONPATH"] = os.pathsep.join(paths)
        env.update(self.settings.env)
        return env

    def _task(self) -> Any:
        if self._remote is None:
            import ray

            self._remote = ray.remote(num_returns="streaming")(_run_on_node)
            self._mark_remote = ray.remote(_mark)
        return self._remote

    # -- what the cluster has ---------------------------------------------------------------------
    def alive_nodes(self, max_age_s: float = 1.0) -> list[dict[str, Any]]:
        """The alive nodes (``ray.nodes()``), cached for ``max_age_s`` (every waiting run asks)."""
        self._connect()
        with self._lock:
            if time.monotonic() - self._nodes_at > max_age_s:
                import ray

                self._nodes = [n for n in ray.nodes() if n.get("Alive")]
                self._nodes_at = time.monotonic()
            return list(self._nodes)

    def capacity(self) -> Capacity:
        nodes = self.alive_nodes(0.0)
        shapes = [_shape(n) for n in nodes]
        cpus = int(sum(s[0] for s in shapes))
        memory_gb = round(sum(s[1] for s in shapes), 1)
        gpus = int(sum(s[2] for s in shapes))
        described = "; ".join(_describe(n) for n in nodes) or "no alive node"
        where = f"ray cluster at {self.settings.address or 'this machine (local)'} ({len(nodes)} nodes: {described})"
        # Per-dimension maxima: never smaller than what one node can hold (run() checks the exact fit).
        largest = (int(max((s[0] for s in shapes), default=0)), round(max((s[1] for s in shapes), default=0.0), 1),
                   int(max((s[2] for s in shapes), default=0)))
        return Capacity(cpus, memory_gb, gpu_count=gpus, where=where, largest_node=largest, on_this_machine=False)

    def request(self, card: Any, cpus: int) -> Assignment:
        """A GPU-capable method asks for ``gpus_per_job`` GPUs (never falls back to the CPU); others for none."""
        gpus = self.settings.gpus_per_job if card.resources.gpu > 0 and self.settings.gpus_per_job > 0 else 0
        return Assignment(cpus=cpus, memory_gb=card.resources.memory_gb, gpu_count=gpus)

    def unsatisfiable(self, assignment: Assignment, max_age_s: float = 1.0) -> str | None:
        """Why no alive node can run a job of ``assignment`` (it would wait forever), or None."""
        nodes = self.alive_nodes(max_age_s)
        wanted = (assignment.cpus, assignment.memory_gb, assignment.n_gpus)
        if any(all(have >= want - 1e-9 for have, want in zip(_shape(n), wanted, strict=True)) for n in nodes):
            return None
        hint = ""
        if assignment.n_gpus and not any(_shape(n)[2] >= assignment.n_gpus for n in nodes):
            hint = (f"; GPUs are asked for by executor.gpus_per_job = {self.settings.gpus_per_job} for GPU-capable "
                    "methods: set it to 0 to run them on the CPU, or add nodes with GPUs (`ray start --num-gpus`)")
        return (f"no node of {self.where} can run this job: it asks for {assignment.cpus} CPU, {assignment.n_gpus} GPU "
                f"and {assignment.memory_gb:g} GiB of memory (the card's resources.memory_gb) on one node; the alive "
                f"nodes have: {'; '.join(_describe(n) for n in nodes) or 'none'}{hint}")

    # -- before the first job: the shared-storage check ----------------------------------------------
    def prepare(self, run_dir: Path) -> None:
        """Every alive node writes a marker under ``run_dir`` (and the cache) that this machine must read back."""
        run_dir = Path(run_dir)
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        nodes = self.alive_nodes(0.0)
        self._task()
        token = uuid.uuid4().hex
        folders = [run_dir]
        if cache_dir().is_dir():
            folders.append(cache_dir())
        run_dir.mkdir(parents=True, exist_ok=True)
        refs = {n["NodeID"]: self._mark_remote.options(
            num_cpus=0, max_retries=0, scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False),
            runtime_env={"env_vars": self.worker_env()}).remote([str(f) for f in folders], token) for n in nodes}
        import ray

        ready, _ = ray.wait(list(refs.values()), num_returns=len(refs), timeout=self.settings.prepare_timeout_s)
        problems = []
        for node in nodes:
            ref, name = refs[node["NodeID"]], _describe_short(node)
            if ref not in ready:
                ray.cancel(ref, force=True)
                problems.append(f"{name}: did not answer within {self.settings.prepare_timeout_s} s")
                continue
            try:
                answer = ray.get(ref, timeout=30)
            except Exception as err:  # the node died, its worker crashed, the runtime env failed ...
                problems.append(f"{name}: the check failed ({type(err).__name__}: {err})")
                continue
            for folder in folders:
                marker = folder / NODES_DIR / f"{node['NodeID']}-{token}"
                if str(folder) in answer["errors"]:
                    problems.append(f"{name}: {folder} {answer['errors'][str(folder)]}")
                elif not marker.is_file() or marker.read_text() != token:
                    problems.append(f"{name}: wrote {marker} on its storage, and this machine does not see it")
                marker.unlink(missing_ok=True)
        for folder in folders:
            try:
                (folder / NODES_DIR).rmdir()  # empty unless a node wrote where this machine cannot see
            except OSError:
                pass
        if problems:
            raise ExecutorUnavailableError(
                f"{self.where}: not every node sees the run folder {run_dir}" + (f" and the cache {cache_dir()}"
                                                                                   if len(folders) > 1 else "")
                + ":\n  " + "\n  ".join(problems) + f"\n{SHARED_STORAGE_HINT}")
        with self._lock:
            self._prepared.add(run_dir.resolve())

    def _ensure_prepared(self, run_dir: Path) -> None:
        with self._prepare_lock:
            with self._lock:
                done = run_dir.resolve() in self._prepared
            if not done:  # a caller that never called prepare() (a lone run, the sequential engine)
                self.prepare(run_dir)

    # -- running --------------------------------------------------------------------------------------
    def run(self, invocation: Invocation) -> JobResult:
        assignment = invocation.assignment or self.request(invocation.method, invocation.method.resources.cpus)
        if self._cancelled.is_set():
            return JobResult("cancelled", None, 0.0, "cancelled before it started", {"executor": "ray"}, attempts=0)
        self._connect()
        if invocation.running_dir is not None:
            self._ensure_prepared(invocation.running_dir.parent)
        problem = self.unsatisfiable(assignment, 0.0)
        if problem:
            return JobResult("failed", None, 0.0, problem, {"executor": "ray"}, attempts=0)
        started = time.monotonic()
        died: list[dict[str, Any]] = []  # the nodes of the attempts whose node or worker died
        attempts = 0
        while True:
            attempts += 1
            outcome = self._attempt(invocation, assignment)
            if outcome.kind != "node_died":
                break
            died.append({**(outcome.node or {}), "error": outcome.error})
            self._clean_after(invocation, outcome.node, attempts)
            if attempts > self.settings.max_node_retries:
                names = ", ".join(_named(d) for d in died)
                return JobResult("failed", None, time.monotonic() - started,
                                 f"the job's node or Ray worker died on each of its {attempts} attempts "
                                 f"(executor.max_node_retries = {self.settings.max_node_retries}): {names}; last: "
                                 f"{outcome.error}", self._provenance(None, None, attempts, died), attempts=attempts)
            log.warning("%s: its node %s died (%s); starting it again (attempt %d of at most %d)",
                        invocation.log_path.parent.name, _named(died[-1]), outcome.error, attempts + 1,
                        self.settings.max_node_retries + 1)
        provenance = self._provenance(outcome.node, outcome.result, attempts, died)
        if outcome.kind == "result":
            assert outcome.result is not None
            return dataclasses.replace(outcome.result, provenance=provenance, attempts=attempts)
        if outcome.killed and outcome.node is not None:
            self._clean_after(invocation, outcome.node, None)
        status = outcome.kind if outcome.kind in ("cancelled", "timeout", "oom") else "failed"
        return JobResult(status, None, time.monotonic() - started, outcome.error, provenance,  # type: ignore[arg-type]
                         attempts=attempts)

    def _attempt(self, invocation: Invocation, assignment: Assignment) -> _Attempt:
        import ray
        from ray import exceptions as rex

        options: dict[str, Any] = {
            "num_cpus": assignment.cpus, "num_gpus": assignment.n_gpus, "memory": int(assignment.memory_gb * _GIB),
            "max_retries": 0, "scheduling_strategy": "SPREAD", "runtime_env": {"env_vars": self.worker_env()},
            "name": f"segarena:{invocation.log_path.parent.name}:{invocation.command}",
        }
        generator = self._task().options(**options).remote(
            invocation, self.settings.inner, self.settings.docker, assignment.cpus, assignment.memory_gb)
        key = uuid.uuid4().hex
        with self._lock:
            self._inflight[key] = generator
        node: dict[str, Any] | None = None
        started = time.monotonic()
        last_check = started
        try:
            while True:
                if self._cancelled.is_set():
                    return _Attempt("cancelled", node, error="cancelled (Ctrl-C)", killed=self._stop(generator))
                ready, _ = ray.wait([generator], timeout=POLL_S)
                if ready:
                    value = ray.get(next(generator), timeout=60)
                    if node is None:
                        node, started = value, time.monotonic()
                        continue
                    return _Attempt("result", node, value)
                if time.monotonic() - last_check < 2.0:
                    continue
                last_check = time.monotonic()
                if node is None:  # pending: can it still start anywhere (a GPU node may have left)?
                    problem = self.unsatisfiable(assignment)
                    if problem:
                        self._stop(generator)  # still pending: nothing started
                        return _Attempt("failed", None, error=problem)
                elif node["node_id"] not in {n["NodeID"] for n in self.alive_nodes()}:
                    self._stop(generator, grace=False)
                    return _Attempt("node_died", node, error="its node is no longer alive in ray.nodes()")
                elif time.monotonic() - started > invocation.timeout_s + DRIVER_TIME_GUARD_S:
                    return _Attempt("timeout", node, error=f"no answer from its node within the time limit of "
                                                           f"{invocation.timeout_s} s (+{DRIVER_TIME_GUARD_S:.0f} s)",
                                    killed=self._stop(generator))
        except rex.TaskCancelledError:
            return _Attempt("cancelled", node, error="cancelled (Ctrl-C)")
        except rex.OutOfMemoryError as err:  # Ray's memory monitor killed the worker: the method's own use
            return _Attempt("oom", node, error=f"out of memory: Ray's memory monitor killed the job's worker "
                                               f"({_first_line(err)})")
        except (rex.NodeDiedError, rex.WorkerCrashedError, rex.LocalRayletDiedError, rex.ObjectLostError) as err:
            # ObjectLostError covers OwnerDiedError, ObjectReconstructionFailedError ...
            return _Attempt("node_died", node, error=f"{type(err).__name__}: {_first_line(err)}")
        except rex.RuntimeEnvSetupError as err:
            return _Attempt("failed", node, error=f"Ray could not set up the job's worker environment: "
                                                  f"{_first_line(err)}")
        except rex.RayTaskError as err:  # the harness code on the node raised: a bug, not a dead node
            return _Attempt("failed", node, error=f"the Ray task failed on its node: {_first_line(err)}")
        except rex.GetTimeoutError as err:
            return _Attempt("node_died", node, error=f"its result did not arrive ({_first_line(err)})")
        except KeyboardInterrupt:  # Ctrl-C in a caller that does not call cancel(): stop the task, then go on up
            self._stop(generator)
            raise
        finally:
            with self._lock:
                self._inflight.pop(key, None)

    def _stop(self, generator: Any, grace: bool = True) -> bool:
        """Cancel a task: first as KeyboardInterrupt (the inner executor ends its method), then kill its worker.

        Returns whether the worker had to be killed.
        """
        import ray

        if grace:
            try:
                ray.cancel(generator, force=False)
            except Exception as err:  # already finished, or its node is gone
                log.debug("cancel: %s", err)
            deadline = time.monotonic() + CANCEL_GRACE_S
            while time.monotonic() < deadline:
                ready, _ = ray.wait([generator], timeout=0.2)
                if ready:
                    try:
                        ray.get(next(generator), timeout=5)
                    except Exception:  # noqa: S112 - TaskCancelledError is the expected answer
                        pass
                    else:
                        continue  # the node's facts or a last result: look again until the task ended
                    return False
        try:
            ray.cancel(generator, force=True)
        except Exception as err:
            log.debug("force cancel: %s", err)
        return True

    def _clean_after(self, invocation: Invocation, node: dict[str, Any] | None, attempt: int | None) -> None:
        """After a dead or killed attempt: end its leftovers on this machine; clear ``--out`` for the next one."""
        if node is not None and invocation.running_dir is not None and _on_this_machine(node):
            deadline = time.monotonic() + 10
            while is_alive(int(node.get("worker_pid", -1)), None) and time.monotonic() < deadline:
                time.sleep(0.1)  # its record is only ended once its worker is gone
            for job, pids in end_orphaned_jobs(invocation.running_dir):
                log.warning("ended %d process(es) of job %s left by a dead Ray worker", len(pids), job)
        if attempt is None:
            return
        out = invocation.mounts.get("out")
        if out is not None and out.is_dir():
            for child in out.iterdir():
                if child.is_dir() and not child.is_symlink():
                    shutil.rmtree(child, ignore_errors=True)
                else:
                    child.unlink(missing_ok=True)
        if invocation.log_path.is_file():  # kept beside the next attempt's log
            invocation.log_path.replace(invocation.log_path.with_name(
                f"{invocation.log_path.stem}.attempt{attempt}{invocation.log_path.suffix}"))

    def _provenance(self, node: dict[str, Any] | None, result: JobResult | None, attempts: int,
                    died: list[dict[str, Any]]) -> dict[str, Any]:
        inner = dict(result.provenance) if result is not None else {}
        facts = {k: v for k, v in (node or {}).items() if k != "worker_pid"}
        ray_facts = {**facts, "cluster": self.settings.address or "local", "attempts": attempts,
                     "died": [{k: d.get(k) for k in ("node_id", "node_ip", "hostname", "error")} for d in died]}
        return {**inner, "executor": "ray", "inner_executor": inner.get("executor", self.settings.inner),
                "ray": ray_facts}

    def cancel(self) -> None:
        """Every running ``run`` stops its task and returns ``cancelled``; later ones return at once."""
        self._cancelled.set()

    def close(self) -> None:
        with self._lock:
            connected, self._connected = self._connected, False
            self._remote = self._mark_remote = None
        if connected:
            import ray

            ray.shutdown()


# -- helpers ------------------------------------------------------------------------------------------
def _shape(node: dict[str, Any]) -> tuple[float, float, float]:
    resources = node.get("Resources", {})
    return float(resources.get("CPU", 0)), float(resources.get("memory", 0)) / _GIB, float(resources.get("GPU", 0))


def _describe_short(node: dict[str, Any]) -> str:
    return f"node {node.get('NodeManagerHostname', '?')} {node.get('NodeManagerAddress', '?')} ({node['NodeID'][:8]})"


def _describe(node: dict[str, Any]) -> str:
    cpus, memory, gpus = _shape(node)
    return f"{_describe_short(node)}: {cpus:g} CPU, {gpus:g} GPU, {memory:.1f} GiB"


def _named(node: dict[str, Any]) -> str:
    if not node.get("node_id"):
        return "a node it had not reported yet"
    return f"{node.get('hostname', '?')} {node.get('node_ip', '?')} ({str(node['node_id'])[:8]})"


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def _on_this_machine(node: dict[str, Any]) -> bool:
    return node.get("hostname") == socket.gethostname()


def _unreachable(address: str) -> str | None:
    """Why a TCP connection to ``host:port`` fails within a few seconds, or None (a quick, clear first check)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return "expected host:port"
    try:
        with socket.create_connection((host, int(port)), timeout=5):
            return None
    except OSError as err:
        return str(err) or type(err).__name__


def _create(settings: RaySettings) -> RayExecutor:
    return RayExecutor(settings)


#: Registered as "ray" in harness.executors.kinds.
KIND = ExecutorKind(RaySettings, _create)
