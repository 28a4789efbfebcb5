"""Run nnU-Net v2's own integrity check on a converted dataset (used by adapter tests)."""

from __future__ import annotations

from pathlib import Path


def assert_nnunet_integrity(root: Path) -> None:
    """Raise if ``nnUNetv2_plan_and_preprocess --verify_dataset_integrity`` would reject ``root``."""
    from nnunetv2.experiment_planning.verify_dataset_integrity import verify_dataset_integrity

    verify_dataset_integrity(str(root), num_processes=1)
