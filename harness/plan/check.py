"""Check a benchmark file without running anything, naming every bad field at once.

Used by ``segarena validate`` and at the start of ``segarena run``: the schema and cross-references
(:func:`harness.config.load_benchmark`), the datasets' options against their cards, the methods'
parameters against theirs (types, bounds, choices, unknown names), and every path that must exist.
The checks work on the YAML data, so they still run when the schema has already found problems.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config import Benchmark, InvalidBenchmarkError, load_benchmark, read_benchmark_data
from harness.datasets.registry import DatasetRegistry
from harness.errors import ConfigError
from harness.methods.registry import MethodRegistry
from harness.published.importers import IMPORTERS


def check_benchmark(path: Path) -> tuple[Benchmark, DatasetRegistry, MethodRegistry]:
    """The benchmark and its registries; raises :class:`InvalidBenchmarkError` listing every problem."""
    data = read_benchmark_data(path)
    base = path.resolve().parent
    problems: list[str] = []
    bench: Benchmark | None = None
    try:
        bench = load_benchmark(path)
    except InvalidBenchmarkError as err:
        problems += err.problems
    plugins = _mapping(data.get("plugins"))
    folders: dict[str, list[Path]] = {}
    for kind in ("datasets", "methods"):
        folders[kind] = []
        for index, value in enumerate(_items(plugins.get(kind))):
            folder = _path(base, value)
            if folder is None:
                continue
            if not folder.is_dir():
                problems.append(f"plugins.{kind}[{index}]: folder {folder} does not exist")
            else:
                folders[kind].append(folder)
    datasets = methods = None
    try:
        datasets = DatasetRegistry(folders["datasets"])
    except ConfigError as err:
        problems.append(f"plugins.datasets: {err}")
    try:
        methods = MethodRegistry(folders["methods"])
    except ConfigError as err:
        problems.append(f"plugins.methods: {err}")
    if datasets is not None:
        problems += _dataset_problems(data, base, datasets)
    if methods is not None:
        problems += _method_problems(data, methods)
    problems += _factor_path_problems(data, base)
    for index, entry in enumerate(_items(data.get("published"))):
        if isinstance(entry, dict) and (where := _path(base, entry.get("path"))) is not None and not where.exists():
            problems.append(f"published[{index}].path: {where} does not exist")
        if isinstance(entry, dict) and isinstance(entry.get("kind"), str) and entry["kind"] not in IMPORTERS:
            problems.append(f"published[{index}].kind: {IMPORTERS.unknown_message(entry['kind'])}")
    if problems or bench is None:
        raise InvalidBenchmarkError(path, problems or ["invalid benchmark"])
    assert datasets is not None and methods is not None
    return bench, datasets, methods


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _items(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _path(base: Path, value: Any) -> Path | None:
    if not isinstance(value, str) or not value:
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base / path).resolve()


def _dataset_problems(data: dict[str, Any], base: Path, registry: DatasetRegistry) -> list[str]:
    problems: list[str] = []
    for index, entry in enumerate(_items(data.get("datasets"))):
        where = f"datasets[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue  # the schema names it
        try:
            card = registry.card(entry["name"])
        except ConfigError as err:
            problems.append(f"{where}.name: {err}")
            continue
        problems += card.option_problems(entry.get("options", {}), f"{where}.options")
        raw, converted = _path(base, entry.get("raw")), _path(base, entry.get("converted"))
        if converted is not None:
            if not converted.is_dir():
                problems.append(f"{where}.converted: folder {converted} does not exist")
            elif not (converted / "dataset.json").is_file():
                problems.append(f"{where}.converted: {converted} is not a common-format dataset (no dataset.json); "
                                f"convert it with `segarena convert {card.name} --raw <raw> --out {converted}`")
        elif card.generated:
            continue  # raw, if given, is where the adapter generates its data
        elif raw is None:
            problems.append(f"{where}.raw: dataset '{card.name}' needs its raw folder (`raw:`) or an already "
                            f"converted one (`converted:`); {card.obtain or 'see its README'}")
        elif not raw.is_dir():
            problems.append(f"{where}.raw: folder {raw} does not exist")
    return problems


def _method_problems(data: dict[str, Any], registry: MethodRegistry) -> list[str]:
    problems: list[str] = []
    for index, entry in enumerate(_items(data.get("methods"))):
        where = f"methods[{index}]"
        if not isinstance(entry, dict) or not isinstance(entry.get("name"), str):
            continue
        try:
            card = registry.card(entry["name"])
        except ConfigError as err:
            problems.append(f"{where}.name: {err}")
            continue
        problems += card.param_problems(entry.get("params", {}), f"{where}.params")
    return problems


def _factor_path_problems(data: dict[str, Any], base: Path) -> list[str]:
    problems: list[str] = []
    factors = _mapping(data.get("factors"))
    for index, regime in enumerate(_items(factors.get("regimes"))):
        if isinstance(regime, dict) and (weights := _path(base, regime.get("weights"))) is not None \
                and not weights.is_file():
            problems.append(f"factors.regimes[{index}].weights: file {weights} does not exist")
    for index, subset in enumerate(_items(factors.get("subsets"))):
        confidence = _mapping(subset).get("confidence")
        if isinstance(confidence, dict) and (table := _path(base, confidence.get("reference_volumes"))) is not None \
                and not table.is_file():
            problems.append(f"factors.subsets[{index}].confidence.reference_volumes: file {table} does not exist")
    return problems
