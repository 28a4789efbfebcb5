"""Per-job overhead of a container: a no-op method under the docker executor against a local subprocess.

Run: ``.venv/bin/python benchmarks/container_overhead.py [--runs 15]`` with a Docker engine up
(``containers/engine.sh start``). The method is the engine probe (``containers/probe``, Python's
standard library only) with ``behaviour: noop``: its train step writes one file and exits, so
what is timed is the executor's own cost per job. Docker: look the image up, create the
container (mounts, limits, read-only root, no network), start it, wait for the exit, collect the
log, remove the container. Local: start ``python main.py train ...`` and wait. The probe image is
built first when missing (``--base local``: no registry needed).

Prints the median and the spread (min, max) of the wall time per job, of each executor, and
the difference: the price of one container per job.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from harness.config.models import DockerExecutor as DockerSettings
from harness.containers.bases import containers_dir
from harness.containers.build import build_method_image
from harness.containers.engine import connect
from harness.containers.images import find_image, image_reference
from harness.executors.base import Executor, Invocation
from harness.executors.docker import DockerExecutor
from harness.executors.local import LocalExecutor
from harness.methods import MethodRegistry


def time_jobs(executor: Executor, card: object, folder: Path, runs: int) -> list[float]:
    data = folder / "data"
    data.mkdir(parents=True, exist_ok=True)
    params = folder / "params.json"
    params.write_text(json.dumps({"behaviour": "noop"}))
    seconds = []
    for index in range(runs + 1):  # the first run warms caches and is dropped
        out = folder / f"out-{index}"
        out.mkdir()
        invocation = Invocation(card, "train", {"data": data, "out": out, "params": params}, {}, 120,  # type: ignore[arg-type]
                                folder / f"log-{index}.txt")
        started = time.perf_counter()
        result = executor.run(invocation)
        elapsed = time.perf_counter() - started
        if not result.ok:
            raise SystemExit(f"{executor.name}: the no-op job failed: {result.reason}")
        if index:
            seconds.append(elapsed)
    return seconds


def describe(name: str, seconds: list[float]) -> str:
    return (f"{name:<8} median {statistics.median(seconds) * 1000:7.0f} ms   "
            f"min {min(seconds) * 1000:6.0f} ms   max {max(seconds) * 1000:6.0f} ms   ({len(seconds)} jobs)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    client = connect()
    card = MethodRegistry([containers_dir()]).card("probe")
    if find_image(client, image_reference(card)) is None:
        print(f"building {image_reference(card)} …", flush=True)
        build_method_image(client, card, base="local")
    with tempfile.TemporaryDirectory(prefix="segarena-overhead-") as tmp:
        local = time_jobs(LocalExecutor(threads=1), card, Path(tmp) / "local", args.runs)
        docker = time_jobs(DockerExecutor(DockerSettings(), client=client), card, Path(tmp) / "docker", args.runs)
    print(describe("local", local))
    print(describe("docker", docker))
    overhead = statistics.median(docker) - statistics.median(local)
    print(f"per-job container overhead (median docker - median local): {overhead * 1000:.0f} ms")


if __name__ == "__main__":
    main()
