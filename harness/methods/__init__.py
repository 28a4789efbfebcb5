"""Method plug point: cards (``methods/<name>/method.yaml``), parameters, registry.

The harness never imports method code: it only runs a method's entry points
(``train``, ``predict``) through an executor.
"""

from __future__ import annotations

from harness.methods.card import MethodCard, ParamSpec
from harness.methods.registry import MethodRegistry

__all__ = ["MethodCard", "MethodRegistry", "ParamSpec"]
