"""`segarena plan FILE`: the table (one tab-separated line per job when not a terminal), --json, --pending, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys

from harness.config import load_benchmark
from harness.runner import run_benchmark
from tests.runner.test_explain import FACTORS, TWO_NOOPS
from tests.support.store_specs import record_specs


def segarena(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli.main", *args], capture_output=True, text=True,
                          timeout=300)


def _lines(stdout: str) -> dict[str, list[str]]:
    """job name → [kind, state, reason] of each tab-separated line."""
    rows = [line.split("\t") for line in stdout.splitlines() if "\t" in line]
    assert all(len(row) == 4 for row in rows), stdout
    return {name: [kind, state, reason] for kind, name, state, reason in rows}


def test_plan_before_and_after_a_run_and_a_param_change(write_benchmark) -> None:
    path = write_benchmark(TWO_NOOPS)
    fresh = segarena("plan", str(path))
    assert fresh.returncode == 0, fresh.stderr
    assert {state for _, state, _ in _lines(fresh.stdout).values()} == {"new"}
    assert fresh.stdout.splitlines()[-1] == "0 complete, 9 would run: 9 new (no store yet)"

    bench = load_benchmark(path)
    assert run_benchmark(bench).ok
    record_specs(bench)
    done = segarena("plan", str(path))
    assert done.returncode == 0 and len(_lines(done.stdout)) == 9
    assert {state for _, state, _ in _lines(done.stdout).values()} == {"complete"}
    assert done.stdout.splitlines()[-1].startswith("9 complete, 0 would run (store: ")

    path.write_text(path.read_text().replace("{epochs: 1}", "{epochs: 2}"))
    pending = segarena("plan", "--pending", str(path))
    assert pending.returncode == 0
    rows = _lines(pending.stdout)
    assert rows[f"train first on demo_cine {FACTORS}"] == ["train", "params changed", "epochs: 1 → 2"]
    assert rows[f"predict first on demo_cine {FACTORS}"][1] == "upstream changed"
    assert rows[f"evaluate first on demo_cine {FACTORS}"][1] == "upstream changed"
    assert set(rows) == {f"{kind} first on demo_cine {FACTORS}" for kind in ("train", "predict", "evaluate")} | {
        "report tiny"}
    assert "(5 complete jobs not shown; --all shows them)" in pending.stdout
    assert "5 complete, 4 would run: 1 params changed, 3 upstream changed" in pending.stdout

    as_json = segarena("plan", "--json", str(path))
    assert as_json.returncode == 0
    data = json.loads(as_json.stdout)
    assert data["summary"] == {"complete": 5, "would_run": 4,
                               "states": {"complete": 5, "params changed": 1, "upstream changed": 3}}
    train = next(job for job in data["jobs"] if job["name"] == f"train first on demo_cine {FACTORS}")
    assert train["state"] == "params changed" and train["would_run"] is True
    assert train["changes"] == [{"path": "epochs", "old": 1, "new": 2}]
    assert len(data["jobs"]) == 9 and data["benchmark"] == "tiny"


def test_plan_of_a_bad_file_exits_2_naming_the_field(write_benchmark) -> None:
    result = segarena("plan", str(write_benchmark(TWO_NOOPS.replace("{epochs: 1}", "{epochs: many}"))))
    assert result.returncode == 2 and "methods[0].params.epochs" in result.stderr
    assert "Traceback" not in result.stderr
