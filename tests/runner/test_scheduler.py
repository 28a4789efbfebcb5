"""The scheduler: ready jobs at once up to the capacity, each GPU job on its own devices, threads = CPU slots."""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
from pathlib import Path

import pytest

from harness.config import load_benchmark
from harness.executors.base import Assignment, Capacity, machine_capacity
from harness.runner import run_benchmark
from harness.runner.reporting import provenance_detail
from harness.runner.resources import ResourcePool, cpus_per_job, jobs_cap
from harness.store import Store
from tests.conftest import TINY_DEMO

TRAIN = "train {} on demo_cine regime scratch subset all fold 0 seed 0"


def _nappers(n: int, seconds: float, name: str = "napper") -> str:
    return "methods:\n" + "".join(
        f"  - {{name: {name}, id: {name}_{i}, params: {{seconds: {seconds}, tag: t{i}}}}}\n" for i in range(n))


def _intervals(run_dir: Path, kind: str = "train") -> dict[str, tuple[float, float]]:
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        rows = db.execute("SELECT name, started_at, finished_at FROM jobs WHERE kind = ?", (kind,)).fetchall()
    return {name: (start, end) for name, start, end in rows}


def _overlap(a: tuple[float, float], b: tuple[float, float]) -> float:
    return min(a[1], b[1]) - max(a[0], b[0])


def _seen(run_dir: Path, kind: str = "train") -> dict[str, dict[str, object]]:
    """What each method job's process saw (napper writes seen_<command>.json into its --out)."""
    found = {}
    for path in (run_dir / "jobs" / kind).glob(f"*/*/seen_{kind}.json"):
        found[path.parent.parent.name] = json.loads(path.read_text())
    return found


@pytest.mark.skipif(machine_capacity().cpus < 2, reason="needs 2 cores")
def test_two_training_jobs_overlap_with_two_slots_and_never_with_one(write_benchmark) -> None:
    two = run_benchmark(load_benchmark(write_benchmark(TINY_DEMO + _nappers(2, 2.0), name="two")))
    assert two.ok
    (a, b) = _intervals(two.run_dir).values()
    assert _overlap(a, b) > 1.0, f"two independent 2 s trainings did not run at once: {a} {b}"
    assert {s["SEGARENA_THREADS"] for s in _seen(two.run_dir).values()} == {"1"}  # one slot each

    path = write_benchmark(TINY_DEMO + _nappers(2, 2.0), name="one")
    path.write_text(path.read_text().replace("/run\n", "/run_one\n"))  # a run folder of its own
    one = run_benchmark(load_benchmark(path), jobs=1)
    assert one.run_dir != two.run_dir and not one.skipped
    assert one.ok
    for kind in ("train", "predict", "evaluate"):
        for x, y in itertools.combinations(_intervals(one.run_dir, kind).values(), 2):
            assert _overlap(x, y) <= 0, f"--jobs 1 ran two {kind} jobs at once"
    every = [iv for kind in ("convert", "split", "train", "predict", "evaluate", "report")
             for iv in _intervals(one.run_dir, kind).values()]
    assert all(_overlap(x, y) <= 0 for x, y in itertools.combinations(every, 2))
    # the one job at a time holds every core: its torch threads follow the slots it holds
    assert {s["SEGARENA_THREADS"] for s in _seen(one.run_dir).values()} == {str(machine_capacity().cpus)}


def test_gpu_jobs_never_share_a_device_and_cpu_jobs_see_none(write_benchmark, monkeypatch) -> None:
    """A stand-in list of 4 devices (no GPU here): 6 GPU-capable jobs and 2 CPU-only ones on 8 slots."""
    monkeypatch.setattr("harness.executors.local.machine_capacity",
                        lambda gpus=(): Capacity(8, 64.0, tuple(gpus), where="a stand-in 8-core machine"))
    body = (TINY_DEMO + _nappers(6, 1.5) + _nappers(2, 1.5, "napper_cpu").removeprefix("methods:\n")
            + "executor: {kind: local, gpus: ['0', '1', '2', 'GPU-3f2a']}\n")
    summary = run_benchmark(load_benchmark(write_benchmark(body)))
    assert summary.ok
    with sqlite3.connect(summary.run_dir / "store.sqlite") as db:
        rows = db.execute("SELECT name, kind, assignment FROM jobs WHERE kind IN ('train', 'predict')").fetchall()
    held = {name: json.loads(assignment) for name, kind, assignment in rows}
    seen = {}
    for kind in ("train", "predict"):
        for path in (summary.run_dir / "jobs" / kind).glob(f"*/*/seen_{kind}.json"):
            seen[(kind, path.parent.parent.name)] = json.loads(path.read_text())
    assert len(seen) == 16
    gpu_jobs = [s for s in seen.values() if s["CUDA_VISIBLE_DEVICES"]]
    cpu_jobs = [s for s in seen.values() if not s["CUDA_VISIBLE_DEVICES"]]
    assert len(gpu_jobs) == 12 and len(cpu_jobs) == 4  # napper x6 (train + predict) on GPUs, napper_cpu x2 without
    assert all(s["CUDA_VISIBLE_DEVICES"] == "" for s in cpu_jobs)  # set and empty: a CPU-only job sees no GPU
    devices = {s["CUDA_VISIBLE_DEVICES"] for s in gpu_jobs}
    assert devices <= {"0", "1", "2", "GPU-3f2a"} and len(devices) >= 2
    for x, y in itertools.combinations(gpu_jobs, 2):
        if _overlap((x["started"], x["ended"]), (y["started"], y["ended"])) > 0:
            assert x["CUDA_VISIBLE_DEVICES"] != y["CUDA_VISIBLE_DEVICES"], "two jobs held one GPU at once"
    assert max(sum(_overlap((x["started"], x["ended"]), (y["started"], y["ended"])) > 0 for y in gpu_jobs)
               for x in gpu_jobs) >= 3, "the GPU jobs did not run at once"
    # the store records what each job held; the provenance says the stand-in devices are not visible
    gpu_held = [a for name, a in held.items() if "napper_cpu" not in name]
    assert all(len(a["gpus"]) == 1 for a in gpu_held)
    assert all(a["gpus"] == [] for name, a in held.items() if "napper_cpu" in name)
    with sqlite3.connect(summary.run_dir / "store.sqlite") as db:
        (output,) = db.execute("SELECT output FROM jobs WHERE name = ?", (TRAIN.format("napper_0"),)).fetchone()
    (device,) = json.loads(output)["provenance"]["devices"]
    assert device["visible"] is False and device["id"] in {"0", "1", "2", "GPU-3f2a"}
    # the report's provenance names the device (and the CPU-only jobs say so)
    store = Store(summary.run_dir / "store.sqlite")
    details = {r.name: provenance_detail(r.output) for r in store.all() if r.kind == "train" and r.output}
    store.close()
    assert f"GPU {device['id']} (not visible to nvidia-smi)" in details[TRAIN.format("napper_0")]
    assert "CPU only" in details[TRAIN.format("napper_cpu_0")] and "1 thread(s)" in details[TRAIN.format("napper_cpu_0")]


def test_the_pool_never_gives_one_device_to_two_jobs() -> None:
    pool = ResourcePool(Capacity(16, 64.0, ("0", "1", "2", "3")), max_jobs=16)
    rng = random.Random(0)
    holding: list[Assignment] = []
    for _ in range(2000):
        if holding and rng.random() < 0.45:
            pool.give_back(holding.pop(rng.randrange(len(holding))))
        request = Assignment(cpus=1, memory_gb=1, gpu_count=rng.choice([0, 1, 1, 2]))
        if pool.fits(request):
            holding.append(pool.take(request))
        in_use = [g for a in holding for g in a.gpus]
        assert len(in_use) == len(set(in_use)) <= 4
        assert all(len(a.gpus) == a.n_gpus for a in holding)
    assert pool.never_fits(Assignment(gpu_count=5)) is not None
    assert pool.never_fits(Assignment(gpu_count=4)) is None


def test_a_request_beyond_the_whole_capacity_says_why() -> None:
    pool = ResourcePool(Capacity(2, 8.0, where="a ray cluster of 2 nodes"), max_jobs=2)
    why = pool.never_fits(Assignment(cpus=1, gpu_count=1))
    assert why is not None and "1 GPU" in why and "a ray cluster of 2 nodes has 0" in why
    # memory above the machine is a hint: the job runs alone rather than never
    assert pool.fits(Assignment(cpus=1, memory_gb=100)) and pool.never_fits(Assignment(memory_gb=100)) is None


def test_slots_per_job_depend_on_the_configuration_only() -> None:
    capacity = Capacity(8, 32.0)
    assert jobs_cap(capacity, None) == 8 and jobs_cap(capacity, 3) == 3
    assert cpus_per_job(capacity, 1, 8) == 1  # default: its card's
    assert cpus_per_job(capacity, 1, 2) == 4  # --jobs 2 on 8 cores: an equal share
    assert cpus_per_job(capacity, 6, 8) == 6 and cpus_per_job(capacity, 20, 1) == 8  # never above the machine
