"""What a published report may carry: no absolute path of the machine that made it.

The runner says which prefixes are private (``ReportInputs.hidden_paths``: the run folder, the cache, the
checkout, the raw folders, the home folder) and what to show instead; :func:`scrub` rewrites every string
of the page's view and of ``report.json`` with them, longest prefix first, so no single field (a failure's
reason naming its log, a provenance detail naming a cached dataset) can leak one. A path under the run
folder becomes relative to it (``jobs/train/…``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any


def scrub(value: Any, hidden: Mapping[str, str]) -> Any:
    """``value`` (strings, lists, tuples, dicts, dataclass-free data) with each hidden prefix replaced."""
    if not hidden:
        return value
    pattern = _pattern(tuple(sorted(hidden, key=len, reverse=True)))
    return _walk(value, pattern, hidden)


def _pattern(prefixes: tuple[str, ...]) -> re.Pattern[str]:
    # a prefix counts only as whole path components: /data/acdc must not hide /data/acdc2
    alternatives = "|".join(re.escape(p.rstrip("/")) for p in prefixes)
    return re.compile(f"({alternatives})(/|(?![\\w.-]))")


def _walk(value: Any, pattern: re.Pattern[str], hidden: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        text = _text(value, pattern, hidden)
        # a str subclass (markupsafe.Markup: trusted SVG) stays of its class: never escaped again
        return text if type(value) is str else type(value)(text)
    if isinstance(value, Mapping):
        return {k: _walk(v, pattern, hidden) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, pattern, hidden) for v in value]
    if isinstance(value, tuple):
        return tuple(_walk(v, pattern, hidden) for v in value)
    return value


def _text(text: str, pattern: re.Pattern[str], hidden: Mapping[str, str]) -> str:
    shown = {p.rstrip("/"): name for p, name in hidden.items()}

    def replace(match: re.Match[str]) -> str:
        name, slash = shown[match.group(1)], match.group(2)
        if name == "":  # the run folder: paths under it become relative to it
            return "" if slash else "."
        return name + slash

    return pattern.sub(replace, text)
