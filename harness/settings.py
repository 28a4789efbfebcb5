"""Machine-local settings: the only place that reads ``SEGARENA_*`` environment variables.

Read lazily (never at import time) so tests can set them per test.
"""

from __future__ import annotations

import os
from pathlib import Path


def repo_root() -> Path:
    """The SegArena checkout (holds datasets/, methods/); ``SEGARENA_HOME`` overrides."""
    env = os.environ.get("SEGARENA_HOME")
    return Path(env).resolve() if env else Path(__file__).resolve().parents[1]


def cache_dir() -> Path:
    """Where converted datasets are cached between runs (``SEGARENA_CACHE``)."""
    env = os.environ.get("SEGARENA_CACHE")
    return Path(env).resolve() if env else repo_root() / ".cache"


def python_executable() -> str:
    """The interpreter that runs local methods (``SEGARENA_PYTHON``, default: this one)."""
    import sys

    return os.environ.get("SEGARENA_PYTHON", sys.executable)
