"""Expand a benchmark: datasets × methods × regimes × subsets × folds × seeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.config.models import Benchmark, DatasetEntry, KFoldSplit
from harness.datasets.registry import DatasetRegistry
from harness.errors import ConfigError
from harness.factors.regimes import regime_applies
from harness.methods.registry import MethodRegistry
from harness.plan.jobs import (
    EVALUATOR_VERSION,
    Job,
    JobKind,
    content_key,
    fingerprint_tree,
    hash_files,
    keyed,
    report_code,
)


@dataclass
class Plan:
    jobs: dict[str, Job] = field(default_factory=dict)  # insertion order is a topological order

    def add(self, job: Job) -> Job:
        """Add ``job``; a job with the same key is the same work and is planned once (the first one is kept).

        Train and predict keys hash only what determines the model, so two method entries with the same
        method and parameters share one training; evaluate keys also hash the entry's dataset and method
        ids (the labels its rows carry), so each id gets its own rows and a renamed id is scored anew.
        """
        return self.jobs.setdefault(job.key, job)

    def of_kind(self, kind: str) -> list[Job]:
        return [j for j in self.jobs.values() if j.kind == kind]


def _fold_indices(bench: Benchmark, entry: DatasetEntry | None = None) -> list[int]:
    split = entry.split if entry is not None and entry.split is not None else bench.factors.split
    if isinstance(split, KFoldSplit):
        return list(split.folds) if split.folds is not None else list(range(split.n_folds))
    return [0]


def _job(key_kind: str, payload: dict[str, Any], kind: JobKind, name: str, deps: tuple[str, ...],
         spec: dict[str, Any]) -> Job:
    """A job keyed by ``payload`` (the key hashes ``key_kind`` and the payload), with its parts' digests."""
    key, inputs = keyed(key_kind, payload)
    return Job(key, kind, name, deps, spec, inputs)


def build_plan(bench: Benchmark, datasets: DatasetRegistry, methods: MethodRegistry) -> Plan:
    """Build the job graph; every key hashes exactly the inputs and parameters of its job."""
    plan = Plan()
    evaluations: list[str] = []
    pending: list[tuple[Any, ...]] = []
    for d_index, entry in enumerate(bench.datasets):
        card = datasets.card(entry.name)
        assert card.folder is not None
        source: dict[str, Any]
        if entry.converted is not None:
            source = {"converted": entry.converted, "tree": fingerprint_tree(entry.converted)}
        elif card.generated:
            source = {"generated": True}
        else:
            source = {"raw": entry.raw, "tree": fingerprint_tree(entry.raw) if entry.raw else "none"}
        adapter_code = hash_files([p for p in card.folder.rglob("*.py") if "__pycache__" not in p.parts])
        convert = plan.add(_job(
            "convert", {"card": card.model_dump(mode="json"), "code": adapter_code, "options": entry.options, **source},
            "convert", f"convert {entry.key}", (),
            {"dataset_index": d_index, "dataset": entry.key, "dataset_name": entry.name, "options": entry.options},
        ))
        split = plan.add(_job(
            "split", {"convert": convert.key, "split": entry.split or bench.factors.split},
            "split", f"split {entry.key}", (convert.key,), {"dataset": entry.key, "dataset_name": entry.name},
        ))
        # Second raters' masks (labelsTr_<rater>/, e.g. cine7t) become inter-observer rows.
        if card.raters:
            raters = plan.add(_job(
                "evaluate_raters", {"split": split.key, "metrics": bench.metrics, "clinical": bench.clinical,
                                    "folds": _fold_indices(bench, entry), "version": EVALUATOR_VERSION,
                                    "dataset_id": entry.key},
                "evaluate", f"evaluate second raters on {entry.key}", (split.key,),
                {"dataset": entry.key, "dataset_name": entry.name, "raters": True, "folds": _fold_indices(bench, entry)},
            ))
            evaluations.append(raters.key)
        for m_index, method_entry in enumerate(bench.methods):
            method = methods.card(method_entry.name)
            params = method.resolve_params(method_entry.params, f"methods[{m_index}].params")
            code = method.code_hash()
            for regime in bench.factors.regimes:
                if not regime_applies(regime, entry.key, method_entry.key, method.needs_training, bench):
                    continue
                for subset in bench.factors.subsets:
                    if subset.datasets and entry.key not in subset.datasets:
                        continue
                    for fold in _fold_indices(bench, entry):
                        for seed in bench.factors.seeds:
                            pending.append((entry, split, method_entry, method.name, code, params,
                                            regime, subset, fold, seed))
    # Fine-tuning jobs come after every other job: their base job's key must be known.
    pending.sort(key=lambda item: item[6].init == "finetune")
    train_keys: dict[tuple[str, str, str, str, int, int], str] = {}
    for dataset_entry, split, method_entry, method_name, code, params, regime, subset, fold, seed in pending:
        dataset_name = dataset_entry.key
        factors = {"regime": regime.name, "subset": subset.name, "fold": fold, "seed": seed}
        label = f"{method_entry.key} on {dataset_name} " + " ".join(f"{k} {v}" for k, v in factors.items())
        common = {"dataset": dataset_name, "dataset_name": dataset_entry.name, "method": method_name, "method_id": method_entry.key, "params": params,
                  **factors}
        deps: tuple[str, ...] = (split.key,)
        init: dict[str, Any] = {"kind": regime.init}
        if regime.init == "imagenet" and regime.weights is not None:
            init["weights_sha256"] = hash_files([regime.weights]) if regime.weights.is_file() else "missing"
        if regime.base is not None:
            base = regime.base
            base_regime = bench.base_regime(base)
            base_key = train_keys.get((base.dataset, base.method, base_regime or "", base.subset, base.fold, seed))
            if base_key is None:
                raise ConfigError(
                    f"factors.regimes: regime '{regime.name}' starts from {base.method} on {base.dataset} "
                    f"(regime {base_regime}, subset {base.subset}, fold {base.fold}, seed {seed}), "
                    "but the benchmark plans no such training job"
                )
            deps = (split.key, base_key)
            init["base"] = base_key
        common["init"] = init
        train = plan.add(_job(
            "train", {"split": split.key, "method": method_name, "code": code, "params": params,
                      "regime": regime, "init": init, "subset": subset, "fold": fold, "seed": seed},
            "train", f"train {label}", deps, common,
        ))
        train_keys[(dataset_name, method_entry.key, regime.name, subset.name, fold, seed)] = train.key
        predict = plan.add(_job(
            "predict", {"train": train.key},
            "predict", f"predict {label}", (train.key, split.key), common,
        ))
        evaluate = plan.add(_job(
            "evaluate", {"predict": predict.key, "metrics": bench.metrics,
                         "clinical": bench.clinical, "version": EVALUATOR_VERSION,
                         "dataset_id": dataset_name, "method_id": method_entry.key},
            "evaluate", f"evaluate {label}", (predict.key, split.key), common,
        ))
        evaluations.append(evaluate.key)
    published = [content_key("published", {"entry": p, "tree": fingerprint_tree(p.path)}) for p in bench.published]
    plan.add(_job(
        "report", {"evaluations": evaluations, "published": published, "report": bench.report,
                   "metrics": bench.metrics, "clinical": bench.clinical, "version": EVALUATOR_VERSION,
                   "renderer": report_code()},
        "report", f"report {bench.name}", tuple(evaluations), {},
    ))
    return plan
