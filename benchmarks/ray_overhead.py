"""Per-job overhead of the ray executor: a sleep-only method under ``ray`` against the same job under ``local``.

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/ray_overhead.py [--runs 10] [--sleep 1.0] [--threads 2]``.
Starts a real two-node Ray cluster on this machine (``ray.cluster_utils.Cluster``: a head and a worker
process tree, 1 CPU each, auth disabled, a short temp folder), times ``runs`` jobs of a method that only
sleeps ``--sleep`` seconds under the local executor (the bare job: a subprocess in a private view) and
the same jobs under the ray executor (one Ray task per job, SPREAD over both nodes), sequentially and
from ``--threads`` threads at once (what the scheduler does), and prints the medians and the overhead
per job: median(ray) - median(local). Target: at most 0.5 s. The first job of each executor (worker
start-up, the shared-storage check) is timed apart and left out of the medians.

``measure(...)`` returns the same figures as a dict, for the scheduler's own benchmark.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from harness.config.models import RayExecutor as RaySettings
from harness.executors.base import Executor, Invocation
from harness.executors.local import LocalExecutor
from harness.executors.ray import RayExecutor
from harness.methods import MethodRegistry

SLEEPER = {
    "method.yaml": """\
        name: sleeper
        title: Sleeps, then writes one file (the ray overhead benchmark)
        entry: main.py
        needs_training: true
        resources: {gpu: 0, cpus: 1, memory_gb: 1, time_limit_s: 600}
        """,
    "main.py": """\
        import json, sys, time
        from pathlib import Path
        args = sys.argv[1:]
        time.sleep(float(json.loads(Path(args[args.index("--params") + 1]).read_text())["sleep_s"]))
        (Path(args[args.index("--out") + 1]) / "done.txt").write_text("slept")
        """,
}


def _job(card: Any, folder: Path, index: int, sleep_s: float) -> Invocation:
    job = folder / f"job-{index}"
    (job / "data").mkdir(parents=True)
    (job / "out").mkdir()
    (job / "params.json").write_text(json.dumps({"sleep_s": sleep_s}))
    mounts = {"data": job / "data", "out": job / "out", "params": job / "params.json"}
    return Invocation(card, "train", mounts, {"SEGARENA_SEED": "0", "SEGARENA_FOLD": "0"}, 600, job / "train.log",
                      folder / "running")


def _timed(executor: Executor, invocation: Invocation) -> tuple[float, Any]:
    started = time.perf_counter()
    result = executor.run(invocation)
    if not result.ok:
        raise SystemExit(f"{executor.name}: the sleep job failed: {result.reason}")
    return time.perf_counter() - started, result


def _sequential(executor: Executor, card: Any, folder: Path, runs: int, sleep_s: float) -> tuple[float, list[float],
                                                                                                  list[Any]]:
    first, _ = _timed(executor, _job(card, folder, 0, sleep_s))
    seconds, results = [], []
    for index in range(1, runs + 1):
        elapsed, result = _timed(executor, _job(card, folder, index, sleep_s))
        seconds.append(elapsed)
        results.append(result)
    return first, seconds, results


def _concurrent(executor: Executor, card: Any, folder: Path, runs: int, sleep_s: float,
                threads: int) -> tuple[float, list[float]]:
    jobs = [_job(card, folder, 1000 + i, sleep_s) for i in range(runs)]
    seconds: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        while True:
            with lock:
                if not jobs:
                    return
                job = jobs.pop()
            elapsed, _ = _timed(executor, job)
            with lock:
                seconds.append(elapsed)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return time.perf_counter() - started, seconds


@contextlib.contextmanager
def two_node_cluster() -> Iterator[Any]:
    """A real two-node Ray cluster on this machine (a head and a worker, 1 CPU each); stopped afterwards."""
    root = Path(tempfile.mkdtemp(prefix="r", dir="/tmp"))  # short: Ray's socket paths are at most 107 bytes
    (root / "ray").mkdir()
    os.environ.update({"RAY_AUTH_MODE": "disabled", "RAY_USAGE_STATS_ENABLED": "0", "RAY_TMPDIR": str(root)})
    from ray.cluster_utils import Cluster

    node = {"num_cpus": 1, "memory": 4 * 1024**3, "object_store_memory": 80 * 1024**2}
    cluster = Cluster(initialize_head=True, head_node_args={**node, "include_dashboard": False,
                                                            "temp_dir": str(root / "ray")})
    try:
        cluster.add_node(**node)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.shutdown()
        shutil.rmtree(root, ignore_errors=True)


def measure(runs: int = 10, sleep_s: float = 1.0, threads: int = 2) -> dict[str, Any]:
    """Start a two-node cluster, time the jobs, stop it; the figures in seconds."""
    executor = None
    with two_node_cluster() as cluster:
        try:
            with tempfile.TemporaryDirectory(prefix="segarena-ray-overhead-") as tmp:
                methods = Path(tmp) / "methods" / "sleeper"
                methods.mkdir(parents=True)
                for name, text in SLEEPER.items():
                    (methods / name).write_text(textwrap.dedent(text))
                card = MethodRegistry([methods.parent]).card("sleeper")
                local_first, local, _ = _sequential(LocalExecutor(threads=1), card, Path(tmp) / "local", runs, sleep_s)
                executor = RayExecutor(RaySettings(address=cluster.address))
                ray_first, rayed, results = _sequential(executor, card, Path(tmp) / "ray", runs, sleep_s)
                wall, parallel = _concurrent(executor, card, Path(tmp) / "ray-par", runs, sleep_s, threads)
        finally:
            if executor is not None:
                executor.close()
    nodes = {r.provenance["ray"]["node_id"] for r in results}
    overhead = statistics.median(rayed) - statistics.median(local)
    return {"sleep_s": sleep_s, "runs": runs, "threads": threads, "local_median_s": statistics.median(local),
            "local_first_s": local_first, "ray_median_s": statistics.median(rayed), "ray_min_s": min(rayed),
            "ray_max_s": max(rayed), "ray_first_s": ray_first, "overhead_s": overhead,
            "overhead_over_bare": overhead / statistics.median(local), "nodes_used": len(nodes),
            "parallel_wall_s": wall, "parallel_median_s": statistics.median(parallel),
            "parallel_ideal_s": runs * statistics.median(local) / threads}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--sleep", type=float, default=1.0, help="seconds each job sleeps")
    parser.add_argument("--threads", type=int, default=2, help="jobs at once in the concurrent part")
    args = parser.parse_args()
    f = measure(args.runs, args.sleep, args.threads)
    print(f"bare job (local executor, sleeps {f['sleep_s']:g} s): median {f['local_median_s']:.3f} s "
          f"(first {f['local_first_s']:.3f} s)")
    print(f"ray executor, one at a time:  median {f['ray_median_s']:.3f} s, min {f['ray_min_s']:.3f}, "
          f"max {f['ray_max_s']:.3f} ({f['runs']} jobs on {f['nodes_used']} nodes; first job "
          f"{f['ray_first_s']:.3f} s with worker start-up and the shared-storage check)")
    print(f"overhead per job: {f['overhead_s'] * 1000:.0f} ms (median ray - median local), "
          f"{f['overhead_over_bare']:.1%} of the bare job; target <= 500 ms: "
          f"{'met' if f['overhead_s'] <= 0.5 else 'NOT met'}")
    print(f"{f['threads']} threads at once: {f['runs']} jobs in {f['parallel_wall_s']:.2f} s wall (ideal "
          f"{f['parallel_ideal_s']:.2f} s), median per job {f['parallel_median_s']:.3f} s")


if __name__ == "__main__":
    main()
