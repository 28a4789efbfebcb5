"""Every process a job starts ends with it: token scans, orphans of a killed harness, worker pools."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from harness.executors.processes import (
    JOB_TOKEN_ENV,
    RUNNING_DIR,
    end_job_processes,
    end_orphaned_jobs,
    new_token,
    pids_with_token,
    register_job,
)
from tests.conftest import TINY_DEMO
from tests.support.iso_support import is_running, leftovers

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc (Linux)")

# A process that starts a grandchild in a new session (out of its process group), prints its pid, then sleeps.
DETACHING = textwrap.dedent("""\
    import subprocess, sys, time
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"], start_new_session=True)
    print(child.pid, flush=True)
    time.sleep(300)
""")


def start_detaching(token: str) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen([sys.executable, "-c", DETACHING], stdout=subprocess.PIPE, text=True,
                               env={**os.environ, JOB_TOKEN_ENV: token}, start_new_session=True)
    assert process.stdout is not None
    return process, int(process.stdout.readline())


def wait_gone(pids: list[int], timeout_s: float = 10) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not any(is_running(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


def test_ending_a_job_kills_children_that_left_its_process_group() -> None:
    token = new_token()
    process, grandchild = start_detaching(token)
    try:
        assert os.getpgid(grandchild) != os.getpgid(process.pid)  # killpg alone would miss it
        seen = [pid for pid in pids_with_token(token) if is_running(pid)]
        assert sorted(seen) == sorted([process.pid, grandchild]), (seen, process.pid, grandchild)
        ended = end_job_processes(token, process.pid)
        process.wait(timeout=30)
        assert wait_gone([grandchild], timeout_s=30), (ended, grandchild)
        assert leftovers(token) == []
    finally:
        end_job_processes(token)


def test_a_rerun_ends_the_processes_of_a_dead_harness_and_spares_a_live_one(tmp_path: Path) -> None:
    running = tmp_path / RUNNING_DIR
    dead, alive = new_token(), new_token()
    orphan, orphan_child = start_detaching(dead)
    sibling, sibling_child = start_detaching(alive)
    try:
        gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
        running.mkdir()
        (running / dead).write_text(json.dumps({"harness_pid": int(gone.stdout), "harness_start": "1", "job": "x"}))
        register_job(running, alive, "y")  # this process: a harness that is still running
        ended = end_orphaned_jobs(running)
        assert [job for job, _ in ended] == ["x"]
        orphan.wait(timeout=10)
        assert wait_gone([orphan_child]) and leftovers(dead) == []
        assert is_running(sibling_child) and (running / alive).is_file() and not (running / dead).exists()
    finally:
        end_job_processes(dead)
        end_job_processes(alive, sibling.pid)
        sibling.wait(timeout=10)



def test_a_record_of_another_machine_is_left_alone(tmp_path: Path) -> None:
    """A run folder on shared storage (Ray): a dead-looking pid of another host is not this machine's to end."""
    running = tmp_path / RUNNING_DIR
    running.mkdir()
    token = new_token()
    record = {"harness_pid": 2**22 + 1, "harness_start": "1", "host": "some-other-node", "job": "remote"}
    (running / token).write_text(json.dumps(record))
    assert end_orphaned_jobs(running) == [] and (running / token).is_file()
    register_job(running, new_token(), "here")
    assert all(json.loads(p.read_text())["host"] == socket.gethostname()
               for p in running.iterdir() if p.name != token)

POOL = textwrap.dedent("""\
    import os, sys, time
    from concurrent.futures import ProcessPoolExecutor
    import multiprocessing
    from harness.common.workers import die_with_parent
    initializer = die_with_parent if sys.argv[1] == "with" else None
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("fork"), initializer=initializer) as pool:
        pids = {pool.submit(os.getpid).result() for _ in range(4)}
        print(" ".join(map(str, pids)), flush=True)
        time.sleep(300)
""")


@pytest.mark.parametrize("initializer", ["with", "without"])
def test_pool_workers_die_with_a_killed_parent_only_with_the_initializer(initializer: str) -> None:
    parent = subprocess.Popen([sys.executable, "-c", POOL, initializer], stdout=subprocess.PIPE, text=True,
                              start_new_session=True)
    assert parent.stdout is not None
    workers = [int(p) for p in parent.stdout.readline().split()]
    try:
        assert workers and all(is_running(pid) for pid in workers)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(timeout=10)
        assert wait_gone(workers, 5) is (initializer == "with")
    finally:
        # Every worker, also one that ran no task (so never printed its pid): they share the parent's group.
        try:
            os.killpg(parent.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


@pytest.mark.slow
def test_kill_9_of_segarena_run_leaves_nothing_after_the_rerun(write_benchmark, tmp_path: Path) -> None:
    bench = write_benchmark(TINY_DEMO + "methods:\n  - name: hostile_sleepy\n")
    command = [sys.executable, "-c", "from harness.cli.main import main; main()", "run", str(bench)]
    harness = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    running = tmp_path / "run" / RUNNING_DIR
    deadline = time.monotonic() + 120
    tokens: list[str] = []
    while time.monotonic() < deadline and not (tokens and len(pids_with_token(tokens[0])) >= 2):
        tokens = [p.name for p in running.iterdir()] if running.is_dir() else []
        time.sleep(0.05)
    (token,) = tokens
    method_pids = pids_with_token(token)
    record = json.loads((running / token).read_text())
    assert Path(record["scratch"]).is_dir() and not Path(record["scratch"]).is_relative_to(tmp_path)
    try:
        os.kill(harness.pid, signal.SIGKILL)
        harness.wait(timeout=10)
        time.sleep(0.5)
        assert all(is_running(pid) for pid in method_pids)  # what a kill -9 leaves: the method and its child

        rerun = subprocess.run(command, capture_output=True, text=True, timeout=300)
        assert rerun.returncode == 1 and "time limit" in rerun.stdout + rerun.stderr  # it ran (and timed out) again
        assert wait_gone(method_pids, 5) and leftovers(token) == []
        assert list(running.iterdir()) == []
        assert not Path(record["scratch"]).exists()  # the dead job's private copies are gone too
    finally:
        end_job_processes(token)
