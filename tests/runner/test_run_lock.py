"""Two `segarena run` of one benchmark at once: the second stops at once, naming the first; nothing is lost."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import TINY_DEMO

CLI = "from harness.cli.main import main; main()"


def _running_train(store: Path) -> bool:
    if not store.is_file():
        return False
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=0.05) as db:
            return bool(db.execute("SELECT 1 FROM jobs WHERE status = 'running' AND kind = 'train'").fetchall())
    except sqlite3.Error:
        return False


@pytest.mark.slow
def test_a_second_run_of_the_same_benchmark_is_refused_while_the_first_goes_on(write_benchmark, tmp_path: Path) -> None:
    benchmark = write_benchmark(TINY_DEMO + "methods:\n  - name: kill9_slow\n")
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    first = subprocess.Popen([sys.executable, "-c", CLI, "run", str(benchmark)], env=env, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while not _running_train(tmp_path / "run" / "store.sqlite") and time.monotonic() < deadline:
        time.sleep(0.05)
    second = subprocess.run([sys.executable, "-c", CLI, "run", str(benchmark)], env=env, capture_output=True,
                            text=True, timeout=120)
    assert second.returncode == 2, second.stdout + second.stderr
    assert f"another `segarena run` of this benchmark is going on (pid {first.pid}" in second.stderr
    output, _ = first.communicate(timeout=300)
    assert first.returncode == 0, output
    again = subprocess.run([sys.executable, "-c", CLI, "run", str(benchmark)], env=env, capture_output=True,
                           text=True, timeout=120)
    assert again.returncode == 0 and "Nothing to do" in again.stdout, again.stdout + again.stderr
