"""The one registry behind every plug point: did-you-mean, available/unavailable with reasons, outside plugins.

The outside plugins live in tests/plugins/: an executor kind in one module (``journal_executor.py``)
and a dataset in one folder (``datasets/squares``: card + adapter).
"""

from __future__ import annotations

import csv
import importlib.util
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from harness.config import InvalidBenchmarkError, load_benchmark
from harness.errors import ConfigError, UnknownNameError
from harness.executors import default_settings
from harness.executors.kinds import EXECUTORS
from harness.metrics.catalog import check_metric_name
from harness.metrics.conventions import get_convention
from harness.published import IMPORTERS
from harness.registry import Registry
from harness.runner import run_benchmark
from tests.conftest import FIXTURES

PLUGINS = Path(__file__).parent / "plugins"


def test_unknown_name_says_did_you_mean_and_lists_the_names() -> None:
    registry: Registry[int] = Registry("widget")
    registry.add("spanner", 1)
    registry.add("hammer", 2)
    with pytest.raises(UnknownNameError, match=r"unknown widget 'spaner'\. Did you mean 'spanner'\? "
                                               r"Available: hammer, spanner$"):
        registry.get("spaner")
    with pytest.raises(ConfigError, match="'hammer' is already registered"):
        registry.add("hammer", 3)
    assert registry.get("hammer") == 2 and registry.names() == ["hammer", "spanner"]


def test_loaders_are_lazy_and_unavailable_entries_say_why() -> None:
    calls: list[str] = []
    registry: Registry[str] = Registry("widget")
    registry.register("lazy", lambda: calls.append("loaded") or "value")
    registry.register("planned", lambda: "planned", unavailable="not built yet: use 'lazy'")
    registry.register("missing", "segarena_no_such_module:thing")
    registry.register("checked", lambda: "checked", check=lambda: "needs the frobnicator package")
    assert calls == []
    assert registry.get("lazy") == "value" and registry.get("lazy") == "value" and calls == ["loaded"]
    assert registry.get("planned") == "planned"  # still loadable (an unavailable executor's settings validate)
    with pytest.raises(ConfigError, match="not built yet: use 'lazy'"):
        registry.require("planned")
    with pytest.raises(ConfigError, match="widget 'missing' is unavailable: cannot import .*segarena_no_such_module"):
        registry.get("missing")
    assert registry.available() == ["lazy"]
    unavailable = registry.unavailable()
    assert unavailable["planned"] == "not built yet: use 'lazy'"
    assert unavailable["checked"] == "needs the frobnicator package"
    assert "segarena_no_such_module" in unavailable["missing"]


def test_every_plug_point_answers_with_did_you_mean() -> None:
    with pytest.raises(UnknownNameError, match=r"unknown executor 'lokal'\. Did you mean 'local'\?"):
        default_settings("lokal")
    with pytest.raises(UnknownNameError, match=r"unknown convention 'medpi'\. Did you mean 'medpy'\?"):
        get_convention("medpi")
    with pytest.raises(UnknownNameError, match=r"unknown metric 'dise'\. Did you mean 'dice'\? Valid metrics: dice, "):
        check_metric_name("dise")
    with pytest.raises(UnknownNameError, match=r"unknown published importer 'cmr_seg_tl_kagle'\. "
                                               r"Did you mean 'cmr_seg_tl_kaggle'\?"):
        IMPORTERS.get("cmr_seg_tl_kagle")


def test_ray_is_registered_and_says_how_to_install_it_when_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.config import executor_kinds

    assert "ray" in EXECUTORS.names()
    settings = default_settings("ray")  # its settings validate without importing Ray
    assert settings.address is None and settings.max_node_retries == 2 and settings.inner == "local"
    if importlib.util.find_spec("ray") is not None:
        assert "ray" in EXECUTORS.available()
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "ray" else real(name, *a))
    assert executor_kinds.ray_missing() == "needs Ray: pip install ray==2.60.0 (on the driver and on every node)"


def test_segarena_list_shows_every_plug_point_and_unavailable_reasons() -> None:
    from harness.cli.main import app

    result = CliRunner().invoke(app, ["list"])
    assert result.exit_code == 0, result.output
    for heading in ("Datasets:", "Methods:", "Executors:", "Published importers:", "Metrics:", "Conventions:"):
        assert heading in result.output
    assert "cmr_seg_tl_kaggle" in result.output and "hd95_mm" in result.output and "deepmind" in result.output
    (ray,) = [line for line in result.output.splitlines() if line.strip().startswith("ray ")]
    assert "one Ray task per job" in ray


def _benchmark(tmp_path: Path, body: str, plugins: str) -> Path:
    path = tmp_path / "plugged.yaml"
    path.write_text(textwrap.dedent(f"""\
        schema_version: 1
        name: plugged
        report: {{out: {tmp_path / 'report'}}}
        run_dir: {tmp_path / 'run'}
        plugins:
          methods: [{FIXTURES / 'methods'}]
        {plugins}
        """) + textwrap.dedent(body))
    return path


def test_an_outside_executor_from_one_module_runs_a_benchmark(tmp_path: Path) -> None:
    journal = tmp_path / "journal.txt"
    path = _benchmark(tmp_path, f"""\
        datasets:
          - name: demo_cine
            options: {{subjects: 4, frames: 2}}
        methods:
          - name: echo_init
        executor: {{kind: journal, journal: {journal}}}
        """, "  executors: [tests.plugins.journal_executor]")
    bench = load_benchmark(path)
    assert bench.executor.kind == "journal" and "journal" in EXECUTORS.available()
    summary = run_benchmark(bench)
    assert summary.ok, summary.failed
    assert journal.read_text().splitlines() == ["echo_init train", "echo_init predict"]
    assert (tmp_path / "report" / "index.html").is_file()


def test_an_outside_executor_module_that_cannot_be_imported_is_named(tmp_path: Path) -> None:
    path = _benchmark(tmp_path, "datasets: [{name: demo_cine}]\n", "  executors: [tests.plugins.no_such_executor]")
    with pytest.raises(InvalidBenchmarkError, match="plugins.executors: cannot import plugin module "
                                                    "'tests.plugins.no_such_executor'"):
        load_benchmark(path)


def test_an_unknown_executor_kind_in_the_file_says_did_you_mean(tmp_path: Path) -> None:
    path = _benchmark(tmp_path, "datasets: [{name: demo_cine}]\nexecutor: {kind: dokcer}\n", "")
    with pytest.raises(InvalidBenchmarkError, match=r"executor: unknown executor 'dokcer'\. Did you mean 'docker'\?"):
        load_benchmark(path)


def test_an_outside_dataset_from_one_folder_converts_and_runs(tmp_path: Path) -> None:
    path = _benchmark(tmp_path, """\
        datasets:
          - name: squares
            options: {subjects: 4}
        methods:
          - name: echo_init
        factors:
          split: {kind: holdout, test_fraction: 0.25}
        """, f"  datasets: [{PLUGINS / 'datasets'}]")
    summary = run_benchmark(load_benchmark(path))
    assert summary.ok, summary.failed
    assert any(name.startswith("convert squares") for name in summary.executed)
    (metrics,) = (tmp_path / "run").rglob("metrics.csv")
    rows = list(csv.DictReader(metrics.open()))
    assert rows and {row["dataset"] for row in rows} == {"squares"} and any(row["metric"] == "dice" for row in rows)


def test_an_unknown_published_importer_is_named_by_validate(write_benchmark, tmp_path: Path) -> None:
    from harness.plan.check import check_benchmark

    (tmp_path / "published").mkdir()
    body = ("datasets: [{name: demo_cine}]\nmethods: [{name: threshold_baseline}]\n"
            f"published: [{{kind: cmr_seg_tl_kagle, path: {tmp_path / 'published'}}}]\n")
    with pytest.raises(InvalidBenchmarkError) as caught:
        check_benchmark(write_benchmark(body))
    message = str(caught.value)
    assert "published[0].kind" in message and "Did you mean 'cmr_seg_tl_kaggle'" in message
