"""nnU-Net's experiment planning and preprocessing of the staged dataset (fingerprint → plans → preprocess)."""

from __future__ import annotations

import logging
from typing import Any

from segarena_kit import MethodError

from segarena_nnunet.params import PLANNERS
from segarena_nnunet.workspace import DATASET_ID, environment

log = logging.getLogger("nnunet")


def _planner_class(name: str) -> Any:
    class_name = PLANNERS[name][0]
    if class_name == "ExperimentPlanner":
        from nnunetv2.experiment_planning.experiment_planners.default_experiment_planner import ExperimentPlanner

        return ExperimentPlanner
    from nnunetv2.experiment_planning.experiment_planners.residual_unets import residual_encoder_unet_planners

    return getattr(residual_encoder_unet_planners, class_name)


def plan_and_preprocess(configuration: str, planner: str, processes: int) -> str:
    """Fingerprint, plan and preprocess ``configuration`` with ``processes`` workers; returns the plans identifier.

    Equivalent to ``nnUNetv2_plan_and_preprocess -d 999 -c CONF -pl PLANNER -npfp N -np N``.
    """
    from nnunetv2.experiment_planning.dataset_fingerprint.fingerprint_extractor import DatasetFingerprintExtractor
    from nnunetv2.experiment_planning.plan_and_preprocess_api import (
        extract_fingerprint_dataset,
        plan_experiment_dataset,
        preprocess_dataset,
    )

    # The planner sets torch's thread count from nnUNet_n_proc_DA while sizing the network: 0 would crash it.
    with environment(nnUNet_n_proc_DA=str(max(1, processes))):
        log.info("extracting the dataset fingerprint")
        extract_fingerprint_dataset(DATASET_ID, DatasetFingerprintExtractor, processes, check_dataset_integrity=False,
                                    clean=True, verbose=False, show_progress_bar=False)
        log.info("planning with %s", PLANNERS[planner][0])
        plans, plans_identifier = plan_experiment_dataset(DATASET_ID, _planner_class(planner))
    available = sorted(plans["configurations"])
    if configuration not in available:
        raise MethodError(f"params.configuration: nnU-Net planned no {configuration!r} configuration for this dataset "
                          f"(planned: {', '.join(available)}); choose one of those")
    log.info("preprocessing configuration %s (%s)", configuration, plans_identifier)
    preprocess_dataset(DATASET_ID, plans_identifier, (configuration,), (processes,), verbose=False,
                       show_progress_bar=False)
    return plans_identifier
