"""Expand a benchmark: datasets × methods × regimes × subsets × folds × seeds."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.config.models import Benchmark, KFoldSplit
from harness.datasets.registry import DatasetRegistry
from harness.methods.registry import MethodRegistry
from harness.plan.jobs import EVALUATOR_VERSION, Job, content_key, fingerprint_tree, hash_files


@dataclass
class Plan:
    jobs: dict[str, Job] = field(default_factory=dict)  # insertion order is a topological order

    def add(self, job: Job) -> Job:
        self.jobs.setdefault(job.key, job)
        return job

    def of_kind(self, kind: str) -> list[Job]:
        return [j for j in self.jobs.values() if j.kind == kind]


def _fold_indices(bench: Benchmark) -> list[int]:
    split = bench.factors.split
    if isinstance(split, KFoldSplit):
        return list(split.folds) if split.folds is not None else list(range(split.n_folds))
    return [0]


def build_plan(bench: Benchmark, datasets: DatasetRegistry, methods: MethodRegistry) -> Plan:
    """Build the job graph; every key hashes exactly the inputs and parameters of its job."""
    plan = Plan()
    evaluations: list[str] = []
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
        convert = plan.add(Job(
            content_key("convert", {"card": card.model_dump(mode="json"), "code": adapter_code,
                                    "options": entry.options, **source}),
            "convert", f"convert {entry.name}", (),
            {"dataset_index": d_index, "dataset": entry.name},
        ))
        split = plan.add(Job(
            content_key("split", {"convert": convert.key, "split": bench.factors.split}),
            "split", f"split {entry.name}", (convert.key,), {"dataset": entry.name},
        ))
        # Second raters' masks (labelsTr_<rater>/, e.g. cine7t) become inter-observer rows;
        # the job finds nothing to do when the converted dataset has no such folder.
        raters = plan.add(Job(
            content_key("evaluate_raters", {"split": split.key, "metrics": bench.metrics, "clinical": bench.clinical,
                                            "folds": _fold_indices(bench), "version": EVALUATOR_VERSION}),
            "evaluate", f"evaluate second raters on {entry.name}", (split.key,),
            {"dataset": entry.name, "raters": True, "folds": _fold_indices(bench)},
        ))
        evaluations.append(raters.key)
        for m_index, method_entry in enumerate(bench.methods):
            method = methods.card(method_entry.name)
            params = method.resolve_params(method_entry.params, f"methods[{m_index}].params")
            code = method.code_hash()
            for regime in bench.factors.regimes:
                for subset in bench.factors.subsets:
                    for fold in _fold_indices(bench):
                        for seed in bench.factors.seeds:
                            factors = {"regime": regime.name, "subset": subset.name, "fold": fold, "seed": seed}
                            label = f"{method_entry.key} on {entry.name} " + " ".join(
                                f"{k} {v}" for k, v in factors.items()
                            )
                            common = {"dataset": entry.name, "method": method_entry.name,
                                      "method_id": method_entry.key, "params": params, **factors}
                            train = plan.add(Job(
                                content_key("train", {"split": split.key, "method": method.name, "code": code,
                                                      "params": params, "regime": regime, "subset": subset,
                                                      "fold": fold, "seed": seed}),
                                "train", f"train {label}", (split.key,), common,
                            ))
                            predict = plan.add(Job(
                                content_key("predict", {"train": train.key}),
                                "predict", f"predict {label}", (train.key, split.key), common,
                            ))
                            evaluate = plan.add(Job(
                                content_key("evaluate", {"predict": predict.key, "metrics": bench.metrics,
                                                         "clinical": bench.clinical, "version": EVALUATOR_VERSION}),
                                "evaluate", f"evaluate {label}", (predict.key, split.key), common,
                            ))
                            evaluations.append(evaluate.key)
    published = [content_key("published", {"entry": p, "tree": fingerprint_tree(p.path)}) for p in bench.published]
    plan.add(Job(
        content_key("report", {"evaluations": evaluations, "published": published, "report": bench.report,
                               "metrics": bench.metrics, "clinical": bench.clinical, "version": EVALUATOR_VERSION}),
        "report", f"report {bench.name}", tuple(evaluations), {},
    ))
    return plan
