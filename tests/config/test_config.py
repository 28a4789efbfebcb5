from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.cli.main import app
from harness.config import json_schema, load_benchmark
from harness.errors import ConfigError
from tests.conftest import TINY_DEMO

REPO = Path(__file__).resolve().parents[2]


def test_default_benchmark_is_valid() -> None:
    bench = load_benchmark(REPO / "benchmark.yaml")
    assert [d.name for d in bench.datasets] == ["demo_cine"]
    assert {m.name for m in bench.methods} == {"threshold_baseline", "unet2d"}
    assert bench.report.out == REPO / "reports" / "demo"


def test_unknown_field_names_its_yaml_path(write_benchmark) -> None:
    path = write_benchmark(TINY_DEMO + "methods:\n  - name: unet2d\n  - name: threshold_baseline\n    parmas: {}\n")
    with pytest.raises(ConfigError) as err:
        load_benchmark(path)
    assert "methods[1].parmas: unknown field" in str(err.value)


def test_bad_value_names_path_value_and_expectation(write_benchmark) -> None:
    path = write_benchmark(TINY_DEMO.replace("test_fraction: 0.25", "test_fraction: 1.5"))
    with pytest.raises(ConfigError) as err:
        load_benchmark(path)
    message = str(err.value)
    assert "factors.split.holdout.test_fraction" in message or "factors.split.test_fraction" in message
    assert "1.5" in message and "less than 1" in message


def test_missing_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("name: x\ndatasets: [{name: demo_cine}]\n")
    with pytest.raises(ConfigError, match="schema_version: required field is missing"):
        load_benchmark(path)


def test_method_param_type_checked_by_validate(write_benchmark) -> None:
    path = write_benchmark(TINY_DEMO + "methods:\n  - name: unet2d\n    params: {epochs: many}\n")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert isinstance(result.exception, ConfigError)
    assert "methods[0].params.epochs: expected int, got 'many'" in str(result.exception)


def test_unknown_param_suggests_the_close_name(write_benchmark) -> None:
    path = write_benchmark(TINY_DEMO + "methods:\n  - name: unet2d\n    params: {epoch: 3}\n")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert "Did you mean 'epochs'?" in str(result.exception)


def test_unknown_method_lists_available(write_benchmark) -> None:
    path = write_benchmark(TINY_DEMO + "methods:\n  - name: unet\n")
    result = CliRunner().invoke(app, ["validate", str(path)])
    assert "unknown method 'unet'" in str(result.exception) and "unet2d" in str(result.exception)


def test_validate_exit_codes_via_main(write_benchmark, capsys: pytest.CaptureFixture[str]) -> None:
    import subprocess
    import sys

    good = subprocess.run([sys.executable, "-m", "harness.cli.main", "validate", str(REPO / "benchmark.yaml")],
                          capture_output=True, text=True)
    assert good.returncode == 0, good.stderr
    bad_path = write_benchmark(TINY_DEMO + "executor: {kind: slurm}\n")
    bad = subprocess.run([sys.executable, "-m", "harness.cli.main", "validate", str(bad_path)],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert "executor" in bad.stderr and "slurm" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_schema_is_json_with_every_section() -> None:
    schema = json.loads(json_schema())
    assert {"datasets", "methods", "factors", "metrics", "executor", "report", "published"} <= set(schema["properties"])
    assert schema["additionalProperties"] is False
