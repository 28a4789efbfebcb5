"""The regime factor: which (dataset, method) pairs a regime applies to, and the weights a training starts from."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.config.models import Benchmark, Regime
from harness.contract.init_folder import write_init_folder
from harness.contract.mounts import MODEL_FILES
from harness.errors import InputDataError, JobFailedError
from harness.store.outputs import InitLineage, TrainOutput

#: What the report says of ImageNet weights that come from the method's own library.
LIBRARY_WEIGHTS = "the encoder library's published weights (online)"


def regime_applies(regime: Regime, dataset: str, method_id: str, trainable: bool, bench: Benchmark) -> bool:
    """Whether ``regime`` is planned for this dataset and method entry."""
    if regime.datasets and dataset not in regime.datasets:
        return False
    if regime.methods:
        return method_id in regime.methods
    # a method without training only runs under the first regime that applies to the dataset
    first = next(r for r in bench.factors.regimes if not r.datasets or dataset in r.datasets)
    return trainable or regime is first


def prepare_init(job_name: str, init: dict[str, Any], regime: Regime | None, base: TrainOutput | None,
                 test_groups: tuple[str, ...], folder: Path) -> tuple[InitLineage, Path | None]:
    """Build the ``--init`` folder of a transfer regime: (the weight lineage for provenance, the folder or None).

    Contract (containers/CONTRACT.md): the folder holds ``init.json`` = ``{"kind": "finetune" | "imagenet",
    "file": NAME}`` and that weights file, or ``{"kind": "imagenet"}`` alone for the method library's weights.
    """
    kind = init["kind"]
    if kind == "scratch":
        return InitLineage(kind="scratch"), None
    assert regime is not None
    if kind == "imagenet":
        if regime.weights is None:
            return InitLineage(kind="imagenet", source=LIBRARY_WEIGHTS), write_init_folder(folder, "imagenet", [], None)
        if not regime.weights.is_file():
            raise InputDataError(f"factors.regimes '{regime.name}'.weights: file {regime.weights} does not exist")
        mount = write_init_folder(folder, "imagenet", [regime.weights], regime.weights.name)
        return InitLineage(kind="imagenet", weights=str(regime.weights),
                           weights_sha256=init.get("weights_sha256", "")), mount
    if base is None:
        raise JobFailedError(f"{job_name}: its base model job did not complete")
    # Refuse a base model that saw any of this fold's test subjects: that would leak test data.
    overlap = sorted(set(base.training_subjects) & set(test_groups))
    if overlap:
        raise InputDataError(
            f"{job_name}: refused to fine-tune from a model trained on test subjects of this fold "
            f"({', '.join(overlap[:5])}{', …' if len(overlap) > 5 else ''}; base job {init['base'][:12]} on "
            f"{base.dataset}); give the base a split that holds them out"
        )
    model = base.model
    if not (model / "model.pt").is_file():
        raise JobFailedError(f"{job_name}: the base model folder {model} holds no model.pt")
    mount = write_init_folder(folder, "finetune", [model / name for name in MODEL_FILES if (model / name).is_file()],
                              "model.pt")
    # the caller adds the weights' digest (the plan's hash, so that it matches the keys')
    return InitLineage(kind="finetune", base_job=init["base"], base_dataset=base.dataset, base_model=str(model)), mount
