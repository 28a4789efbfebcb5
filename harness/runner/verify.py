"""``segarena method verify``: train and predict on synthetic cases, then check the outputs against the contract."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.common.dataset import CommonDataset
from harness.contract.checks import Violation, check_predictions
from harness.contract.views import make_images_view, make_training_view
from harness.datasets.convert import convert_dataset
from harness.datasets.registry import DatasetRegistry
from harness.errors import ConfigError
from harness.executors.base import Executor, Invocation, JobResult
from harness.methods.card import MethodCard


@dataclass(frozen=True)
class StepOutcome:
    name: str  # train | predict | contract
    ok: bool
    duration_s: float
    detail: str
    log: Path | None = None


@dataclass
class VerifyReport:
    method: str
    executor: str
    work_dir: Path
    steps: list[StepOutcome] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.steps) and all(step.ok for step in self.steps) and not self.violations


def synthetic_dataset(folder: Path, subjects: int = 3, frames: int = 2, dataset: str = "demo_cine",
                      options: dict[str, Any] | None = None) -> CommonDataset:
    """Synthetic cases of a ``generated: true`` dataset in the common format (reused when already converted).

    demo_cine takes ``subjects`` and ``frames``; any other dataset only its ``options``.
    """
    given = {"subjects": subjects, "frames": frames} if dataset == "demo_cine" else {}
    given.update(options or {})
    key = hashlib.sha256(json.dumps(given, sort_keys=True, default=str).encode()).hexdigest()[:10]
    name = f"demo_cine-s{subjects}-f{frames}" if given == {"subjects": subjects, "frames": frames} and \
        dataset == "demo_cine" else f"{dataset}-{key}"
    out = folder / name
    try:
        return CommonDataset.open(out)
    except Exception:  # absent or half-written: convert again
        shutil.rmtree(out, ignore_errors=True)
    adapter = DatasetRegistry().adapter(dataset, given)
    if not adapter.card.generated:
        raise ConfigError(f"verify dataset '{dataset}' does not generate its raw data (its card has no "
                          "'generated: true'); a method card's verify.dataset must name one that does")
    convert_dataset(adapter, folder / f"raw-{name}", out, workers=1)
    return CommonDataset.open(out)


def verify_dataset(card: MethodCard, folder: Path, subjects: int | None = None,
                   frames: int | None = None) -> CommonDataset:
    """The synthetic dataset the card's ``verify`` block names; ``subjects``/``frames`` (demo_cine) override it."""
    options = dict(card.verify.options)
    if card.verify.dataset == "demo_cine":
        sub = int(subjects if subjects is not None else options.pop("subjects", 3))
        fr = int(frames if frames is not None else options.pop("frames", 2))
        options.pop("subjects", None)
        options.pop("frames", None)
        return synthetic_dataset(folder, sub, fr, "demo_cine", options)
    for key, value in (("subjects", subjects), ("frames", frames)):
        if value is not None:
            options[key] = value
    return synthetic_dataset(folder, dataset=card.verify.dataset, options=options)


def verify_method(
    card: MethodCard,
    executor: Executor,
    work_dir: Path,
    params: dict[str, Any],
    dataset: CommonDataset,
    on_step: Callable[[StepOutcome], None] | None = None,
) -> VerifyReport:
    """Train on all subjects but the last, predict the last one's images, check the predictions.

    ``work_dir`` (new, empty, or one an earlier verify made) is emptied first and keeps the logs, the model and the predictions afterwards.
    """
    from harness.common.paths import check_output_folder, is_created_by_segarena, mark_created

    # A folder SegArena did not create is never emptied: a non-empty one is refused, naming it.
    work_dir = check_output_folder(work_dir, "--work-dir")
    if is_created_by_segarena(work_dir):
        shutil.rmtree(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    mark_created(work_dir, "verify")
    report = VerifyReport(card.name, executor.name, work_dir)

    def record(outcome: StepOutcome) -> None:
        report.steps.append(outcome)
        if on_step is not None:
            on_step(outcome)

    subjects = sorted({r.subject for r in dataset.cases})
    if len(subjects) < 2:
        raise ValueError("verify needs at least two synthetic subjects (one to train on, one to test)")
    test_subject = subjects[-1]
    train_cases = [r for r in dataset.cases if r.subject != test_subject and r.has_label]
    test_cases = [r for r in dataset.cases if r.subject == test_subject]
    env = {"SEGARENA_SEED": "0", "SEGARENA_FOLD": "0"}
    limit_s = card.resources.time_limit_s

    params_path = work_dir / "params.json"
    params_path.write_text(json.dumps(params, indent=2))
    model = work_dir / "model"
    model.mkdir()
    train_mounts = {"data": make_training_view(dataset, train_cases, work_dir / "data"), "out": model,
                    "params": params_path}
    result = executor.run(Invocation(card, "train", train_mounts, env, limit_s, work_dir / "train.log"))
    shutil.rmtree(work_dir / "data", ignore_errors=True)
    if not result.ok:
        record(_outcome("train", result, work_dir / "train.log"))
        return report
    if not any(model.iterdir()):
        record(StepOutcome("train", False, result.duration_s, "train exited 0 but wrote nothing to its output folder",
                           work_dir / "train.log"))
        return report
    record(_outcome("train", result, work_dir / "train.log",
                    f"{len(train_cases)} cases of {len(subjects) - 1} subjects; model: {_listing(model)}"))

    predictions = work_dir / "predictions"
    predictions.mkdir()
    predict_mounts = {"images": make_images_view(dataset, test_cases, work_dir / "images"), "model": model,
                      "out": predictions}
    result = executor.run(Invocation(card, "predict", predict_mounts, env, limit_s, work_dir / "predict.log"))
    shutil.rmtree(work_dir / "images", ignore_errors=True)
    record(_outcome("predict", result, work_dir / "predict.log", f"{len(test_cases)} test cases of {test_subject}"))
    if not result.ok:
        return report
    report.violations = check_predictions(dataset, test_cases, predictions)
    record(StepOutcome("contract", not report.violations, 0.0,
                       f"{len(report.violations)} violation(s)" if report.violations else
                       "one prediction per case, image geometry, labels within the label map, nothing else"))
    return report


def _outcome(name: str, result: JobResult, log: Path, detail: str = "") -> StepOutcome:
    if result.ok:
        return StepOutcome(name, True, result.duration_s, detail, log)
    return StepOutcome(name, False, result.duration_s, f"{result.status}: {result.reason}", log)


def _listing(folder: Path, limit: int = 5) -> str:
    names = sorted(p.name for p in folder.iterdir())
    return ", ".join(names[:limit]) + (f", … ({len(names)} files)" if len(names) > limit else "")
