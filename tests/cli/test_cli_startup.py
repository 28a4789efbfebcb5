"""`segarena --help`, `segarena validate` and `segarena plan` import no numerical or imaging library
(issue 10, CLI start-up; issue 13: `plan` judges every job from plan and store without the engine).

Timing is measured in benchmarks/cli_startup.py (≤ 0.3 s); this pins the cause: what start-up imports.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from harness.settings import repo_root

HEAVY = ("numpy", "scipy", "pandas", "nibabel", "pydicom", "SimpleITK", "torch", "matplotlib", "jinja2", "ray", "tensorflow")

PROBE = """
import json, sys
from harness.cli.main import main
sys.argv = ["segarena", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit:
    pass
print("\\nMODULES " + json.dumps(sorted(m for m in sys.modules if m.split(".")[0] in json.loads(sys.argv[-1]))))
"""


@pytest.mark.parametrize("argv", [["--help"], ["validate", "benchmark.yaml"], ["plan", "--help"],
                                  ["plan", "--json", "benchmark.yaml"]], ids=["help", "validate", "plan-help", "plan"])
def test_start_up_imports_no_heavy_library(argv: list[str]) -> None:
    probe = PROBE.replace("json.loads(sys.argv[-1])", repr(list(HEAVY)))
    done = subprocess.run([sys.executable, "-c", probe, json.dumps(argv)], cwd=repo_root(), capture_output=True,
                          text=True, timeout=60)
    line = next(line for line in done.stdout.splitlines() if line.startswith("MODULES "))
    assert json.loads(line.removeprefix("MODULES ")) == [], done.stdout[-2000:] + done.stderr[-2000:]
    if argv[0] == "validate":
        assert "valid" in done.stdout
    if argv[-1] == "benchmark.yaml" and argv[0] == "plan":  # plan + explain, store and cache read, no numpy
        assert '"would_run"' in done.stdout
