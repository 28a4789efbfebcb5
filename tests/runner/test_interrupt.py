"""Ctrl-C while two jobs run at once: both are cancelled and recorded as interrupted, nothing is left running."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.executors.processes import RUNNING_DIR, pids_with_token

pytestmark = pytest.mark.slow


def _statuses(run_dir: Path, kind: str) -> list[str]:
    if not (run_dir / "store.sqlite").exists():
        return []
    with sqlite3.connect(run_dir / "store.sqlite") as db:
        return [s for (s,) in db.execute("SELECT status FROM jobs WHERE kind = ?", (kind,))]


def test_ctrl_c_cancels_the_running_jobs_and_the_next_run_redoes_them(tmp_path: Path, write_benchmark) -> None:
    bench = write_benchmark("""\
        datasets:
          - name: demo_cine
            options: {subjects: 4, frames: 2}
        methods:
          - {name: napper_cpu, id: a, params: {seconds: 60, tag: a}}
          - {name: napper_cpu, id: b, params: {seconds: 60, tag: b}}
        factors:
          split: {kind: holdout, test_fraction: 0.25}
        executor: {kind: local, jobs: 2}
        """, name="int")
    run_dir = tmp_path / "run"
    env = {**os.environ, "SEGARENA_CACHE": str(tmp_path / "cache")}
    command = [sys.executable, "-m", "harness.cli.main", "run", str(bench)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 120
    while _statuses(run_dir, "train").count("running") < 2:
        assert process.poll() is None and time.monotonic() < deadline, "the two trainings never ran at once"
        time.sleep(0.2)
    time.sleep(1.0)  # both methods are sleeping now
    tokens = [p.name for p in (run_dir / RUNNING_DIR).iterdir() if not p.name.startswith(".")]
    assert len(tokens) == 2 and all(pids_with_token(t) for t in tokens)
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    output, _ = process.communicate(timeout=60)
    assert process.returncode == 130, output
    assert time.monotonic() - started < 20, "Ctrl-C took too long to stop the run"
    assert _statuses(run_dir, "train") == ["interrupted", "interrupted"]
    assert not any(pids_with_token(t) for t in tokens), "a method outlived Ctrl-C"
    assert not [p for p in (run_dir / RUNNING_DIR).iterdir() if not p.name.startswith(".")]

    plan = subprocess.run([sys.executable, "-m", "harness.cli.main", "plan", str(bench), "--json"], env=env,
                          capture_output=True, text=True, timeout=60)
    assert plan.returncode == 0, plan.stderr
    assert plan.stdout.count('"failed before"') >= 2 and "interrupted" in plan.stdout
