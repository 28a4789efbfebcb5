"""Make ``segarena_datasets`` (the checkout's datasets/ folder) importable, so tests import adapter helpers by name."""

from __future__ import annotations

from harness.datasets.package import dataset_package

dataset_package()
