"""The factors a benchmark crosses: splits (``splits``), training subsets (``subsets``) and regimes (``regimes``).

Their settings are parsed by ``harness.config.models`` (``Factors``, ``HoldoutSplit``, ``KFoldSplit``,
``Subset``, ``Regime``); these modules are what the planner and the steps do with them.
"""

from __future__ import annotations
