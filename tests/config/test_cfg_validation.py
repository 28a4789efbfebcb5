"""`segarena validate` checks everything it can without running and names every bad field at once (issue 15)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from harness.config import InvalidBenchmarkError, load_benchmark
from harness.config.params import ParamSpec
from harness.plan.check import check_benchmark
from tests.conftest import FIXTURES, TINY_DEMO

REPO = Path(__file__).resolve().parents[2]
NOT_NAMES = ["../../x/y", "..", "...", ".", "a/b", "/abs", "a b", "-lead", "x" * 65, "", "é"]


def segarena(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli.main", *args], capture_output=True, text=True,
                          timeout=300)


@pytest.mark.parametrize("bad", NOT_NAMES)
@pytest.mark.parametrize("where, body", [
    ("datasets[0].id", "datasets: [{{name: demo_cine, id: '{bad}'}}]\n"),
    ("methods[0].id", "datasets: [{{name: demo_cine}}]\nmethods: [{{name: threshold_baseline, id: '{bad}'}}]\n"),
    ("factors.regimes[0].name", "datasets: [{{name: demo_cine}}]\nfactors: {{regimes: [{{name: '{bad}'}}]}}\n"),
    ("factors.subsets[0].name", "datasets: [{{name: demo_cine}}]\nfactors: {{subsets: [{{name: '{bad}'}}]}}\n"),
    ("published[0].dataset", "published: [{{kind: cmr_seg_tl_kaggle, path: x, dataset: '{bad}'}}]\n"),
])
def test_ids_are_names_never_paths(write_benchmark: Callable[..., Path], where: str, body: str, bad: str) -> None:
    with pytest.raises(InvalidBenchmarkError) as err:
        load_benchmark(write_benchmark(body.format(bad=bad)))
    assert f"{where}: ids are names, never paths" in str(err.value)


def test_benchmark_name_is_a_name(tmp_path: Path) -> None:
    path = tmp_path / "b.yaml"
    path.write_text("schema_version: 1\nname: '../..'\ndatasets: [{name: demo_cine}]\n")
    with pytest.raises(InvalidBenchmarkError, match="name: ids are names"):
        load_benchmark(path)


@pytest.mark.parametrize("good", ["demo_cine", "a", "7T.v2-b_c", "x" * 64, "a..b"])
def test_ordinary_ids_are_accepted(write_benchmark: Callable[..., Path], good: str) -> None:
    bench = load_benchmark(write_benchmark(f"datasets: [{{name: demo_cine, id: '{good}'}}]\n"))
    assert bench.datasets[0].key == good


@pytest.mark.parametrize("field", ["report: {out: '%s'}", "run_dir: '%s'"])
@pytest.mark.parametrize("target", ["root", "home", "checkout", "benchmark_folder", "ancestor"])
def test_output_folders_never_sit_on_the_users_files(tmp_path: Path, field: str, target: str) -> None:
    bench_dir = tmp_path / "project" / "bench"
    bench_dir.mkdir(parents=True)
    folder = {"root": Path("/"), "home": Path.home(), "checkout": REPO, "benchmark_folder": bench_dir,
              "ancestor": tmp_path / "project"}[target]
    path = bench_dir / "b.yaml"
    safe = {"report: {out: '%s'}": f"run_dir: {tmp_path / 'run'}\n", "run_dir: '%s'": f"report: {{out: {tmp_path / 'r'}}}\n"}
    path.write_text("schema_version: 1\nname: b\ndatasets: [{name: demo_cine}]\n" + safe[field] + field % folder + "\n")
    with pytest.raises(InvalidBenchmarkError) as err:
        load_benchmark(path)
    assert ("report.out: " if "report" in field else "run_dir: ") + str(folder.resolve()) in str(err.value)


def test_report_out_override_is_checked_too(write_benchmark: Callable[..., Path]) -> None:
    result = segarena("report", str(write_benchmark(TINY_DEMO + "methods: [{name: threshold_baseline}]\n")), "--out", "/")
    assert result.returncode == 2 and "--out: / is the filesystem root" in result.stderr


def test_validate_names_every_bad_field_at_once(write_benchmark: Callable[..., Path], tmp_path: Path) -> None:
    body = f"""\
        datasets:
          - {{name: demo_cine, options: {{subjects: -3, frames: "six", subjetcs: 2}}}}
          - {{name: acdc, id: no_raw}}
          - {{name: acdc, id: gone, raw: {tmp_path / 'nowhere'}}}
          - {{name: mnms, converted: {tmp_path / 'not_converted'}}}
        methods:
          - {{name: unet2d, params: {{epochs: -1, learning_rate: 5.0, encoder: resnet9}}}}
          - {{name: threshold_baseline, params: {{myocardium_width_mm: wide}}}}
        factors:
          regimes: [{{name: tl, init: imagenet, weights: {tmp_path / 'missing.pth'}}}]
        """
    path = write_benchmark(body)
    text = path.read_text().replace(f"methods: [{FIXTURES / 'methods'}]", f"methods: [{FIXTURES / 'methods'}, {tmp_path / 'no_plugins'}]")
    path.write_text(text)
    result = segarena("validate", str(path))
    assert result.returncode == 2, result.stdout
    assert "Traceback" not in result.stderr
    expected = [
        "datasets[0].options.subjects: -3 is below the minimum 1",
        "datasets[0].options.frames: expected int, got 'six'",
        "datasets[0].options.subjetcs: dataset 'demo_cine' has no option 'subjetcs'. Did you mean 'subjects'?",
        "datasets[1].raw: dataset 'acdc' needs its raw folder",
        f"datasets[2].raw: folder {tmp_path / 'nowhere'} does not exist",
        f"datasets[3].converted: folder {tmp_path / 'not_converted'} does not exist",
        "methods[0].params.epochs: -1 is below the minimum 0",
        "methods[0].params.learning_rate: 5.0 is above the maximum 1",
        "methods[0].params.encoder: 'resnet9' is not one of",
        "methods[1].params.myocardium_width_mm: expected float, got 'wide'",
        f"factors.regimes[0].weights: file {tmp_path / 'missing.pth'} does not exist",
        f"plugins.methods[1]: folder {tmp_path / 'no_plugins'} does not exist",
    ]
    stderr = " ".join(result.stderr.split())
    missing = [line for line in expected if line not in stderr]
    assert missing == [], result.stderr
    assert f"({len(expected)} problems)" in stderr


def test_schema_and_card_problems_are_reported_together(write_benchmark: Callable[..., Path]) -> None:
    path = write_benchmark("datasets: [{name: demo_cine, id: '../x', options: {frames: 1}}]\n"
                           "methods: [{name: unet2d, params: {epochs: -5}}]\nexecutor: {kind: slurm}\n")
    with pytest.raises(InvalidBenchmarkError) as err:
        check_benchmark(path)
    problems = "\n".join(err.value.problems)
    assert "datasets[0].id: ids are names" in problems and "executor" in problems
    assert "datasets[0].options.frames: 1 is below the minimum 2" in problems
    assert "methods[0].params.epochs: -5 is below the minimum 0" in problems


def test_run_checks_options_before_any_job(write_benchmark: Callable[..., Path], tmp_path: Path) -> None:
    path = write_benchmark("datasets: [{name: demo_cine, options: {subjects: six}}]\nmethods: [{name: threshold_baseline}]\n")
    result = segarena("run", str(path))
    assert result.returncode == 2
    assert "datasets[0].options.subjects: expected int, got 'six'" in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "run" / "jobs").exists()


def test_shipped_cards_declare_bounds_and_their_defaults_fit() -> None:
    from harness.datasets import DatasetRegistry
    from harness.methods import MethodRegistry

    methods = MethodRegistry()
    assert methods.card("unet2d").params["epochs"].min == 0
    assert methods.card("nnunet").params["epochs"].min == 1
    demo = DatasetRegistry().card("demo_cine")
    assert {"subjects", "frames", "seed", "prefix", "domain"} <= set(demo.options)
    assert demo.option_problems({"prefix": "../up"}, "o") != []
    assert load_benchmark(REPO / "benchmark.yaml") == check_benchmark(REPO / "benchmark.yaml")[0]


def test_param_spec_rejects_inconsistent_declarations() -> None:
    with pytest.raises(ValueError, match="below the minimum"):
        ParamSpec(type="int", default=0, min=1)
    with pytest.raises(ValueError, match="only for int and float"):
        ParamSpec(type="str", min=1)
    assert ParamSpec(type="float", min=0, max=1).problem(True) == "expected float, got True"


def test_card_names_are_names_too(tmp_path: Path) -> None:
    from harness.errors import ConfigError
    from harness.methods.card import MethodCard

    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "method.yaml").write_text("name: ../escape\ntitle: t\n")
    with pytest.raises(ConfigError, match="name: ids are names"):
        MethodCard.load(tmp_path / "m" / "method.yaml")
