"""``segarena method new NAME`` and ``segarena method verify NAME [--executor local|docker]``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Optional

import typer
from rich.console import Console

from harness.errors import ConfigError

console = Console()
method_app = typer.Typer(help="Create a method folder, or check that a method honours the contract.",
                         no_args_is_help=True)


def parse_param(item: str, card: Any) -> tuple[str, Any]:
    """``NAME=VALUE`` typed by the card's parameter spec (lists and dicts as JSON)."""
    name, sep, raw = item.partition("=")
    if not sep or not name:
        raise ConfigError(f"--param {item!r}: expected NAME=VALUE")
    spec = card.params.get(name)
    kind = spec.type if spec is not None else "str"  # unknown names fail in resolve_params with "did you mean"
    try:
        if kind == "int":
            return name, int(raw)
        if kind == "float":
            return name, float(raw)
        if kind == "bool":
            if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError(raw)
            return name, raw.lower() in ("true", "1", "yes")
        if kind in ("list", "dict"):
            return name, json.loads(raw)
    except (ValueError, json.JSONDecodeError) as err:
        raise ConfigError(f"--param {name}: expected {kind}, got {raw!r}") from err
    return name, raw


@method_app.command("new")
def new(
    name: Annotated[str, typer.Argument(help="the method's name: lower case, digits, underscores")],
    into: Annotated[Optional[Path], typer.Option(help="the folder to create it in (default: methods/)")] = None,  # noqa: UP045
) -> None:
    """Scaffold methods/NAME: card, entry script, requirements, Dockerfile, a test. It verifies as it is."""
    from harness.containers.scaffold import scaffold_method
    from harness.settings import repo_root

    folder = scaffold_method(name, into or repo_root() / "methods")
    console.print(f"Created {folder}: method.yaml, main.py, requirements.txt, Dockerfile, test_method.py, README.md",
                  highlight=False)
    extra = f" --methods-dir {into}" if into else ""
    console.print(f"Next: edit main.py, then `segarena method verify {name}{extra}`", highlight=False)


@method_app.command("verify")
def verify(
    name: Annotated[str, typer.Argument(help="a registered method")],
    executor: Annotated[str, typer.Option(help="a registered executor kind: local | docker | ...")] = "local",
    param: Annotated[Optional[list[str]], typer.Option("--param", "-p", help="NAME=VALUE, repeatable (e.g. -p epochs=1)")] = None,  # noqa: UP045
    subjects: Annotated[Optional[int], typer.Option(help="synthetic subjects (the last one is the test subject); default: the card's verify.options, else 3", min=2)] = None,  # noqa: UP045
    frames: Annotated[Optional[int], typer.Option(help="frames per synthetic subject (demo_cine); default: the card's verify.options, else 2", min=2)] = None,  # noqa: UP045
    work_dir: Annotated[Optional[Path], typer.Option(help="where logs, model and predictions stay (default: .cache/verify/NAME-EXECUTOR)")] = None,  # noqa: UP045
    methods_dir: Annotated[Optional[list[Path]], typer.Option(help="an extra folder of method folders, repeatable")] = None,  # noqa: UP045
) -> None:
    """Train and predict NAME on synthetic cases and check its outputs against the contract."""
    from harness.executors import default_settings, make_executor
    from harness.executors.kinds import EXECUTORS
    from harness.methods import MethodRegistry
    from harness.runner.verify import StepOutcome, verify_dataset, verify_method
    from harness.settings import cache_dir

    if executor not in EXECUTORS:
        raise ConfigError(f"--executor: {EXECUTORS.unknown_message(executor)}")
    card = MethodRegistry(methods_dir or []).card(name)
    given = dict(parse_param(item, card) for item in param or [])
    params = card.resolve_params({**card.verify.params, **given}, "--param")
    runner = make_executor(default_settings(executor))
    dataset = verify_dataset(card, cache_dir() / "verify", subjects, frames)
    quick = {key: params[key] for key in card.verify.params if key not in given}
    console.print(f"Verifying {name} with the {executor} executor on {len(dataset.cases)} synthetic "
                  f"{card.verify.dataset} cases of {len({r.subject for r in dataset.cases})} subjects"
                  + (f"; the card's quick settings: {quick}" if quick else ""), highlight=False)

    def show(step: StepOutcome) -> None:
        mark = "[green]ok[/]" if step.ok else "[red]FAILED[/]"
        timing = f" ({step.duration_s:.1f} s)" if step.duration_s else ""
        console.print(f"  {step.name:<9} {mark}{timing} {step.detail}", highlight=False)
        if not step.ok and step.log is not None:
            console.print(f"            log: {step.log}", highlight=False)

    report = verify_method(card, runner, work_dir or cache_dir() / "verify" / f"{name}-{executor}", params, dataset,
                           on_step=show)
    for violation in report.violations:
        console.print(f"  - {violation}", highlight=False)
    if not report.ok:
        console.print(f"[red]{name} does not honour the contract[/] (outputs and logs in {report.work_dir})",
                      highlight=False)
        raise typer.Exit(1)
    console.print(f"[green]{name} honours the contract[/] under the {executor} executor", highlight=False)


def register(app: typer.Typer) -> None:
    app.add_typer(method_app, name="method")
