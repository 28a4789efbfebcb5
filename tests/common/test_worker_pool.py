"""Worker pools start from a forkserver: safe from a threaded harness, under a long $TMPDIR, with its packages."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""\
    import math, os, sys, threading
    from harness.common.workers import worker_pool, worker_payload
    from harness.datasets import DatasetRegistry

    def payload_name(_):
        return type(worker_payload()).__module__

    if __name__ == "__main__":
        adapter = DatasetRegistry().adapter("demo_cine")  # a class of the in-memory segarena_datasets package
        results = {}
        def job(i):
            with worker_pool(2, payload=adapter) as pool:
                results[i] = (list(pool.map(math.isqrt, [4, 9, 16])), set(pool.map(payload_name, range(4))))
        threads = [threading.Thread(target=job, args=(i,)) for i in range(3)]  # pools from several threads at once
        [t.start() for t in threads]
        [t.join(timeout=120) for t in threads]
        assert all(not t.is_alive() for t in threads), "a pool hung"
        print(sorted(results.items()))
    """)


def test_pools_from_threads_under_a_long_tmpdir_see_the_harness_packages(tmp_path: Path) -> None:
    long_tmp = tmp_path / ("t" * 100)  # the forkserver's AF_UNIX socket would not fit in it (107 bytes)
    long_tmp.mkdir()
    script = tmp_path / "pools.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "TMPDIR": str(long_tmp), "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-2000:]
    expected = ([2, 3, 4], {"segarena_datasets.demo_cine.adapter"})
    assert done.stdout.strip() == str([(i, expected) for i in range(3)])
