"""kill -9 of `segarena run` at 20 random points in a row, then a run to the end: the same results.

The benchmark converts a small phantom dataset, trains and predicts with a slowed-down threshold
baseline (so kills land inside the method's own process too), evaluates and reports. The killed
run must end with a `metrics.csv` identical to an uninterrupted run's, no partial file anywhere
it writes, and no process of any of its jobs left alive.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import SimpleITK as sitk

from harness.executors.processes import JOB_TOKEN_ENV, RUNNING_DIR, SCRATCH_PREFIX
from tests.conftest import write_benchmark_file

pytestmark = pytest.mark.slow

N_KILLS = 20
PHASES = ("convert", "train", "predict", "evaluate", "report")


def _write_benchmark(folder: Path) -> Path:
    return write_benchmark_file(folder, """\
        datasets:
          - name: demo_cine
            options: {subjects: 4, frames: 2}
        methods:
          - name: kill9_slow
          - name: threshold_baseline
        factors:
          split: {kind: holdout, test_fraction: 0.25}
        """, name="kill9")


def _env(cache: Path) -> dict[str, str]:
    """The run's own cache and temp folder (where the local executor puts each job's private view)."""
    scratch = cache.with_name(cache.name + "-tmp")
    scratch.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "SEGARENA_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "TMPDIR": str(scratch)}


def _command(benchmark: Path) -> list[str]:
    return [sys.executable, "-c", "from harness.cli.main import main; main()", "run", str(benchmark)]


def _running_kind(run_dir: Path, since: float) -> str:
    """The kind of the job this run (started at ``since``) is running, or '-' (a killed run's rows stay 'running')."""
    store = run_dir / "store.sqlite"
    if not store.is_file():
        return "start-up"
    try:
        with sqlite3.connect(f"file:{store}?mode=ro", uri=True, timeout=0.05) as db:
            rows = db.execute("SELECT kind FROM jobs WHERE status = 'running' AND started_at > ? "
                              "ORDER BY started_at DESC LIMIT 1", (since,)).fetchall()
    except sqlite3.Error:
        return "store busy"
    return rows[0][0] if rows else "-"


def _job_processes(marker: str) -> list[int]:
    """Live processes (other than this one) whose command line or environment names ``marker``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            text = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
            state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z" and marker.encode() in text:
            found.append(int(entry.name))
    return found


def _assert_no_partial_files(*roots: Path) -> None:
    for root in roots:
        for path in root.rglob("*"):
            name = path.name
            assert not name.endswith((".partial", ".tmp")) and ".staging" not in name and not name.startswith(
                (".staging", ".tmp")), f"left over: {path}"
            if path.is_file() and name.endswith(".nii.gz"):
                sitk.ReadImage(str(path))  # a truncated file raises
            elif path.is_file() and name.endswith(".json"):
                json.loads(path.read_text())
            elif path.is_file() and name.endswith(".csv") and path.stat().st_size:
                pd.read_csv(path)


def _metrics(folder: Path) -> pd.DataFrame:
    frame = pd.read_csv(folder / "report" / "metrics.csv")
    return frame.sort_values(list(frame.columns)).reset_index(drop=True)


def test_kill9_at_20_random_points_then_resume_gives_identical_metrics(tmp_path: Path) -> None:
    reference = _write_benchmark(tmp_path / "reference")
    done = subprocess.run(_command(reference), env=_env(tmp_path / "cache-reference"), capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr

    with sqlite3.connect(reference.parent / "run" / "store.sqlite") as db:
        phase_s = dict(db.execute("SELECT kind, MIN(duration_s) FROM jobs GROUP BY kind").fetchall())

    killed = _write_benchmark(tmp_path / "killed")
    cache = tmp_path / "cache-killed"
    rng = random.Random(20261201)
    interrupted: list[str] = []
    # 20 kill points in a row: 4 in each phase, each at a random moment after the phase has begun
    # (a killed job starts again from nothing, so one phase can be interrupted many times).
    for kind in [k for k in PHASES for _ in range(N_KILLS // len(PHASES))]:
        launched = time.time()
        process = subprocess.Popen(_command(killed), env=_env(cache), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 120
        while process.poll() is None and _running_kind(killed.parent / "run", launched) != kind and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.05, 0.8) * phase_s[kind])  # inside the phase, at a random point
        landed = _running_kind(killed.parent / "run", launched)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
            interrupted.append(landed)
        process.wait()
    assert len(interrupted) == N_KILLS, f"every kill should interrupt a running benchmark: {interrupted}"

    final = subprocess.run(_command(killed), env=_env(cache), capture_output=True, text=True, timeout=600)
    assert final.returncode == 0, final.stdout + final.stderr

    pd.testing.assert_frame_equal(_metrics(killed.parent), _metrics(reference.parent))
    _assert_no_partial_files(killed.parent, cache)
    time.sleep(0.5)
    assert _job_processes(str(killed.parent)) == [], "a job process outlived its run"
    assert _job_processes(JOB_TOKEN_ENV) == [], "a job process outlived its run"
    running = killed.parent / "run" / RUNNING_DIR
    assert not running.is_dir() or list(running.iterdir()) == [], "a dead run's job records were not cleared"
    scratch = cache.with_name(cache.name + "-tmp")
    assert list(scratch.glob(f"{SCRATCH_PREFIX}*")) == [], "a killed job's private view was left in the temp folder"
    print("kill -9 landed in:", interrupted)
    assert set(PHASES) <= set(interrupted), f"the kills should have interrupted every phase: {interrupted}"
