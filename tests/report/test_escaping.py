"""Every string a config, a method, a log or a data file supplies is escaped in the report (issue 15, item 6)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
import yaml

from harness.config import load_benchmark
from harness.plan import Job, Plan
from harness.report.render import METRICS_COLUMNS, render_report
from harness.report.safe import UnsafeSvgError, svg_problems, trusted_svg
from harness.runner.reporting import collect_report_inputs
from harness.store import EvaluateOutput, InitLineage, JobOutput, PredictOutput, Store, TrainOutput

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"><img src=x onerror=alert(1)>'
#: Would change the page if it ran: the browser test checks the title and a global stay untouched.
TITLE_SCRIPT = "<script>document.title='pwned';window.segarenaPwned=1</script>"
TITLE_HANDLER = "\"><img src=x onerror=\"document.title='pwned';window.segarenaPwned=1\">"
HOSTILE = [SCRIPT, ATTRIBUTE, TITLE_SCRIPT, TITLE_HANDLER]


def render_hostile_report(write_benchmark: Callable[..., Path], tmp_path: Path) -> Path:
    """A report from a store and metrics whose every free-text field is hostile."""
    body = (yaml.safe_dump({"description": SCRIPT + ATTRIBUTE + TITLE_SCRIPT})
            + "datasets: [{name: demo_cine}]\nmethods: [{name: threshold_baseline}]\n")
    bench = load_benchmark(write_benchmark(body))
    metrics_rows = [
        {"dataset": "demo_cine", "method": method, "regime": "scratch", "subset": "all", "fold": 0, "seed": 0,
         "case": f"{method}case{i}", "subject": SCRIPT, "phase": "ED", "frame": 0, "label": "LV", "metric": "dice",
         "value": 0.5 + 0.1 * i, "status": "ok"}
        for method in (SCRIPT, TITLE_HANDLER) for i in range(3)
    ]
    metrics_csv = tmp_path / "m.csv"
    pd.DataFrame(metrics_rows, columns=METRICS_COLUMNS).to_csv(metrics_csv, index=False)
    spec = {"dataset": "demo_cine", "method": "threshold_baseline", "method_id": TITLE_SCRIPT, "regime": "scratch",
            "subset": "all", "fold": 0, "seed": 0}
    plan = Plan()
    for job in (Job("t-failed", "train", f"train {ATTRIBUTE}", (), spec),
                Job("t-done", "train", "train ok", (), spec),
                Job("p-done", "predict", "predict ok", ("t-done",), spec),
                Job("e", "evaluate", "evaluate ok", ("p-done",), spec)):
        plan.add(job)
    store = Store(tmp_path / "store.sqlite")
    store.start("t-failed", "train", "x")
    store.finish("t-failed", "failed", 1.0, 1, reason=f"Traceback\n{SCRIPT}\n{TITLE_SCRIPT}",
                 log_path=tmp_path / f"logs{TITLE_HANDLER}.log")
    history = [{"epoch": SCRIPT, "train_loss": 0.5, "seconds": 1.0}, {"epoch": ATTRIBUTE, "train_loss": 0.4, "seconds": 2.0}]
    train_output = TrainOutput(model=tmp_path / f"model{ATTRIBUTE}", log=tmp_path / "t.log", n_training_cases=1,
                               n_training_subjects=1, training_subjects=[SCRIPT], dataset="demo_cine",
                               init=InitLineage(kind="scratch"), duration_s=1.0, history=history,
                               provenance={"executor": TITLE_SCRIPT, "threads": SCRIPT},
                               model_info={"parameters": SCRIPT, "architecture": TITLE_HANDLER})
    predict_output = PredictOutput(predictions=tmp_path / "p", log=tmp_path / "p.log", duration_s=1.0,
                                   violations=[f"wrote {ATTRIBUTE}"], provenance={"executor": SCRIPT})
    evaluate_output = EvaluateOutput(metrics=metrics_csv)
    outputs: dict[str, JobOutput] = {"t-done": train_output, "p-done": predict_output, "e": evaluate_output}
    for key, output in outputs.items():
        store.start(key, output.kind, "x")
        store.finish(key, "done", 1.0, 0, output=output)
    result = render_report(bench, collect_report_inputs(plan, store, outputs))
    store.close()
    return result.index


def test_hostile_strings_appear_only_escaped(write_benchmark: Callable[..., Path], tmp_path: Path) -> None:
    html = render_hostile_report(write_benchmark, tmp_path).read_text()
    for hostile in HOSTILE:
        assert hostile not in html
    assert "<script>alert" not in html and "<img src=x" not in html and "<script>document" not in html
    escaped_script = "&lt;script&gt;alert(1)&lt;/script&gt;"
    # description, failure reason, leaderboard entry, history field, provenance detail
    assert html.count(escaped_script) >= 5
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html  # job name, log path, history, violation
    assert "<figure class=\"distribution\"><svg" in html  # the figure is still inlined (trusted_svg let it in)
    assert html.count("<script") == 1  # only the bundled sort.js
    assert "CPU, &lt;script&gt;alert(1)&lt;/script&gt; thread(s)" in html  # the compute table's device, escaped
    summary = html[html.index('id="failure-summary"'):html.index('id="overview"')]  # failures first, on top
    assert "1 job(s) failed" in summary and "train &#34;&gt;&lt;img" in summary


def test_trusted_svg_refuses_active_content() -> None:
    good = '<svg xmlns="http://www.w3.org/2000/svg"><g><text>&lt;script&gt;</text><path d="M 0 0"/></g></svg>'
    assert str(trusted_svg(good)) == good
    for bad in ('<svg><script>alert(1)</script></svg>', '<svg onload="alert(1)"></svg>',
                '<svg><foreignObject><p>x</p></foreignObject></svg>', '<svg><a href="javascript:alert(1)"></a></svg>',
                '<svg><use xlink:href=" JavaScript:alert(1)"/></svg>', '<svg></svg><script>alert(1)</script>',
                '<img src=x onerror=alert(1)>', '<svg><!-- --><script>alert(1)</script><!-- --></svg>',
                '<svg><style>@import url(http://evil/x.css)</style></svg>', "not an svg"):
        assert svg_problems(bad), bad
        with pytest.raises(UnsafeSvgError):
            trusted_svg(bad)


def test_matplotlib_figures_with_hostile_labels_pass_the_check() -> None:
    import numpy as np

    from harness.report.plots import distribution_svg

    svg = distribution_svg({SCRIPT: np.array([0.1, 0.5]), TITLE_HANDLER: np.array([0.3])}, "dice")
    assert svg_problems(svg) == []
    assert SCRIPT not in svg and "&lt;script&gt;" in svg


def test_every_template_is_autoescaped() -> None:
    from jinja2 import Environment, PackageLoader

    source = (Path(__file__).resolve().parents[2] / "harness" / "report" / "render.py").read_text()
    assert "autoescape=True" in source and "select_autoescape" not in source
    templates = Path(__file__).resolve().parents[2] / "harness" / "report" / "templates"
    for template in templates.glob("*"):
        assert "|safe" not in template.read_text().replace(" ", ""), template
    env = Environment(loader=PackageLoader("harness.report", "templates"), autoescape=True)
    assert env.from_string("{{ x }}").render(x=SCRIPT) == "&lt;script&gt;alert(1)&lt;/script&gt;"


def test_the_sorter_never_turns_text_into_html() -> None:
    assets = Path(__file__).resolve().parents[2] / "harness" / "report" / "assets"
    for script in assets.glob("*.js"):
        text = script.read_text()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "Function("):
            assert sink not in text, f"{script.name} uses {sink}"


@pytest.mark.slow
def test_no_hostile_string_runs_in_a_real_browser(write_benchmark: Callable[..., Path], tmp_path: Path) -> None:
    import shutil

    from tests.report.test_browser import ARGS

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (`apt-get install chromium`; .ci/run does it)")
    playwright = pytest.importorskip("playwright.sync_api")
    index = render_hostile_report(write_benchmark, tmp_path)
    dialogs: list[str] = []
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, headless=True, args=ARGS)
        page = browser.new_page()
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(index.as_uri())
        page.wait_for_load_state("load")
        page.locator("table.leaderboard thead th").first.click()  # the sorter moves rows; nothing may run then either
        title = page.title()
        pwned = page.evaluate("() => window.segarenaPwned === undefined ? null : window.segarenaPwned")
        shown = page.locator("body").inner_text()
        browser.close()
    assert title != "pwned" and pwned is None and dialogs == []
    assert SCRIPT in shown and "onerror=alert(1)" in shown  # shown to the reader as text


def test_a_method_printing_html_reaches_the_report_only_escaped(write_benchmark: Callable[..., Path]) -> None:
    """End to end: a plugin method puts HTML into its history.csv and into the last line of its crash log."""
    from harness.runner import run_benchmark
    from tests.conftest import TINY_DEMO

    body = TINY_DEMO + "methods:\n  - name: hostile_local\n    id: printer\n    params: {attack: html}\n"
    summary = run_benchmark(load_benchmark(write_benchmark(body)))
    (reason,) = [reason for name, reason in summary.failed if name.startswith("predict printer")]
    assert "<script>alert('log')</script>" in reason  # the hostile line is what the report must show
    assert summary.report is not None
    html = summary.report.read_text()
    assert "alert(&#39;log&#39;)" in html and "alert(&#39;history&#39;)" in html  # shown, escaped
    assert "<script>alert" not in html and "<img src=x" not in html
    assert html.count("<script") == 1  # only the bundled sort.js
