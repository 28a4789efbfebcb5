"""The benchmark file: schema (:mod:`.models`), loading with YAML-path errors, JSON Schema."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from harness.config.errors import InvalidBenchmarkError, format_validation_error, yaml_path
from harness.config.models import SCHEMA_VERSION, Benchmark, DatasetEntry, MethodEntry
from harness.config.paths import output_path_problem
from harness.errors import ConfigError

__all__ = ["SCHEMA_VERSION", "Benchmark", "DatasetEntry", "InvalidBenchmarkError", "MethodEntry", "json_schema",
           "load_benchmark", "read_benchmark_data", "yaml_path"]


def _resolve(base: Path, path: Path | None) -> Path | None:
    if path is None:
        return None
    path = path.expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def read_benchmark_data(path: Path) -> dict[str, Any]:
    """The benchmark file as YAML data (a mapping); unreadable files fail here."""
    if not path.is_file():
        raise ConfigError(f"benchmark file {path} does not exist")
    try:
        data: Any = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise ConfigError(f"{path}: not valid YAML ({err})") from err
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level, got {type(data).__name__}")
    return data


def load_benchmark(path: Path) -> Benchmark:
    """Parse and validate a benchmark file; relative paths become relative to its folder.

    Every schema problem is reported at once (:class:`InvalidBenchmarkError`, one line per YAML path),
    as is an output folder (``report.out``, ``run_dir``) that would sit on top of the user's files.
    """
    data = read_benchmark_data(path)
    try:
        bench = Benchmark.model_validate(data)
    except ValidationError as err:
        raise InvalidBenchmarkError(path, format_validation_error(err).splitlines()) from err
    base = path.resolve().parent
    datasets = [
        d.model_copy(update={"raw": _resolve(base, d.raw), "converted": _resolve(base, d.converted)})
        for d in bench.datasets
    ]
    published = [p.model_copy(update={"path": _resolve(base, p.path)}) for p in bench.published]
    report = bench.report.model_copy(update={"out": _resolve(base, bench.report.out)})
    run_dir = _resolve(base, bench.run_dir) or (base / "runs" / bench.name)
    factors = bench.factors.model_copy(update={
        "regimes": [r.model_copy(update={"weights": _resolve(base, r.weights)}) for r in bench.factors.regimes],
        "subsets": [s.model_copy(update={"confidence": s.confidence.model_copy(update={
            "reference_volumes": _resolve(base, s.confidence.reference_volumes)})}) if s.confidence else s
            for s in bench.factors.subsets],
    })
    plugins = bench.plugins.model_copy(update={
        "datasets": [_resolve(base, p) for p in bench.plugins.datasets],
        "methods": [_resolve(base, p) for p in bench.plugins.methods],
    })
    problems = [f"{where}: {problem}" for where, folder in (("report.out", report.out), ("run_dir", run_dir))
                if (problem := output_path_problem(folder, path)) is not None]
    if problems:
        raise InvalidBenchmarkError(path, problems)
    return bench.model_copy(update={"datasets": datasets, "published": published, "report": report,
                                    "run_dir": run_dir, "plugins": plugins,
                                    "factors": factors})


def json_schema() -> str:
    schema = Benchmark.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "SegArena benchmark.yaml"
    return json.dumps(schema, indent=2)
