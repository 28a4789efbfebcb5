"""The command line: clear messages and exit codes, no raw tracebacks without --debug."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.conftest import TINY_DEMO


def segarena(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness.cli.main", *args], capture_output=True, text=True,
                          timeout=600)


def test_run_with_a_bad_config_exits_2_naming_the_field(write_benchmark) -> None:
    result = segarena("run", str(write_benchmark(TINY_DEMO + "methods:\n  - {name: threshold_baseline, params: {myocardium_width_mm: wide}}\n")))
    assert result.returncode == 2
    assert "methods[0].params.myocardium_width_mm: expected float, got 'wide'" in result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(write_benchmark) -> None:
    result = segarena("--debug", "validate", str(write_benchmark("datasets: [{name: demo_cinema}]\n")))
    assert result.returncode != 0 and "Traceback" in result.stderr and "demo_cine" in result.stderr


def test_missing_benchmark_file(tmp_path: Path) -> None:
    result = segarena("run", str(tmp_path / "nope.yaml"))
    assert result.returncode == 2 and "does not exist" in result.stderr


def test_run_reports_failures_and_where_the_report_is(write_benchmark, tmp_path: Path) -> None:
    path = write_benchmark(TINY_DEMO + "methods:\n  - name: crashy\n  - name: threshold_baseline\n")
    first = segarena("run", str(path))
    assert first.returncode == 1
    assert "train crashy" in first.stdout and "deliberate crash" in first.stdout
    assert f"Report: {tmp_path / 'report' / 'index.html'}" in first.stdout.replace("\n", "")
    path.write_text(path.read_text().replace("  - name: crashy\n", ""))
    again = segarena("run", str(path))
    assert again.returncode == 0
    assert "skipped" in again.stdout


def test_executor_that_cannot_run_here_is_explained(write_benchmark) -> None:
    body = TINY_DEMO + "executor: {kind: ray, address: '127.0.0.1:9'}\nmethods:\n  - name: threshold_baseline\n"
    result = segarena("run", str(write_benchmark(body)))
    assert result.returncode == 2 and "cannot reach the Ray cluster at 127.0.0.1:9" in result.stderr


def test_validate_dataset_lists_problems(tmp_path: Path) -> None:
    (tmp_path / "ds").mkdir()
    (tmp_path / "ds" / "dataset.json").write_text('{"labels": {"background": 0}}')
    result = segarena("validate-dataset", str(tmp_path / "ds"))
    assert result.returncode == 2
    assert "'channel_names' is missing" in result.stdout and "'numTraining' is missing" in result.stdout


def test_list_shows_builtin_components() -> None:
    result = segarena("list")
    assert result.returncode == 0 and "demo_cine" in result.stdout and "unet2d" in result.stdout


def test_report_renders_again_from_the_store_without_running_jobs(write_benchmark, tmp_path: Path) -> None:
    path = write_benchmark(TINY_DEMO + "methods:\n  - name: threshold_baseline\n")
    before = segarena("report", str(path))
    assert before.returncode == 2 and "no run store yet" in before.stderr
    assert segarena("run", str(path)).returncode == 0
    store = tmp_path / "run" / "store.sqlite"
    stamp = store.stat().st_mtime_ns
    again = segarena("report", str(path), "--out", str(tmp_path / "again"), "--title", "Second look",
                     "--rank-by", "hd95_mm")
    assert again.returncode == 0, again.stderr
    assert f"Report: {tmp_path / 'again' / 'index.html'}" in again.stdout.replace("\n", "")
    html = (tmp_path / "again" / "index.html").read_text()
    assert "<title>Second look" in html and "hd95_mm" in html
    assert html.count('<figure class="distribution"><svg') >= 3  # one per structure (LV, MYO, RV)
    assert '<details class="bland-altman">' in html and "limits of agreement" in html
    assert store.stat().st_mtime_ns == stamp  # no job ran, nothing was recorded
    bad = segarena("report", str(path), "--rank-by", "dise")
    assert bad.returncode == 2 and "Did you mean 'dice'?" in bad.stderr


def test_usage_errors_print_the_usage_line_and_exit_2(write_benchmark) -> None:
    path = str(write_benchmark(TINY_DEMO + "methods:\n  - name: threshold_baseline\n"))
    for args, expected in ((("validat", path), "No such command 'validat'. Did you mean 'validate'"),
                           (("run", path, "--jobz", "2"), "No such option: --jobz"),
                           (("run", path, "--executer", "local"), "(Possible options: --executor)"),
                           (("validate",), "Missing argument")):
        result = segarena(*args)
        assert result.returncode == 2, (args, result.stderr)
        assert "Usage:" in result.stderr and expected in result.stderr, result.stderr
        assert "Traceback" not in result.stderr


def test_run_away_from_a_terminal_prints_one_line_per_job_start_and_end(write_benchmark) -> None:
    result = segarena("run", str(write_benchmark(TINY_DEMO + "methods:\n  - name: threshold_baseline\n")), "--jobs", "2")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    starts = [line for line in lines if line.startswith("   start ")]
    ends = [line for line in lines if line.strip().startswith("done ")]
    assert len(starts) == len(ends) == 6  # convert, split, train, predict, evaluate, report
    assert "   start train threshold_baseline on demo_cine regime scratch subset all fold 0 seed 0 (local: 1 cpu)" in lines
    assert "\r" not in result.stdout and "━" not in result.stdout  # no live bar in a log
