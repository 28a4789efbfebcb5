"""The metric catalogue: every :class:`~harness.metrics.metric.Metric` by name, built-in and outside ones.

The built-in metrics live in :mod:`harness.metrics.definitions` (one module per family,
each a ``METRICS`` tuple); an outside module adds metrics the same way and is named in
``metrics.extra`` of benchmark.yaml (see docs/metrics.md). Unknown names fail with a
did-you-mean and the list of valid ones.
"""

from __future__ import annotations

import difflib
import importlib
import pkgutil
from collections.abc import Iterator, Mapping, Sequence

from harness.errors import UnknownNameError
from harness.metrics.definitions import overlap as _overlap
from harness.metrics.definitions import surface as _surface
from harness.metrics.definitions import volume as _volume
from harness.metrics.metric import Metric
from harness.registry import Registry

MetricInfo = Metric  # the former name of the catalogue's entries

#: Every known metric, built-ins first, then outside ones in the order their modules were loaded
#: (did-you-mean and ``segarena list`` come from the generic registry).
METRICS: Registry[Metric] = Registry("metric", listing="Valid metrics", ordered=True)
_REGISTRY: dict[str, Metric] = {}  # the same, as plain objects (read on every row: no loader indirection)
_SOURCES: dict[str, str] = {}  # metric name -> the module it came from


def register_metric(metric: Metric, source: str = "") -> Metric:
    """Add ``metric`` to the catalogue; the same object again is a no-op, another one with its name an error."""
    known = _REGISTRY.get(metric.name)
    if known is not None and known != metric:
        raise UnknownNameError(f"metric {metric.name!r} from {source or 'an outside module'} is already defined by "
                               f"{_SOURCES.get(metric.name) or 'the harness'}; give it another name")  # fmt: skip
    if known is None:
        METRICS.add(metric.name, metric, description=metric.definition)
    _REGISTRY[metric.name] = metric
    _SOURCES.setdefault(metric.name, source)
    return metric


def _register_module(module_name: str, metrics: object) -> tuple[str, ...]:
    if not isinstance(metrics, Sequence) or not metrics or not all(isinstance(m, Metric) for m in metrics):
        raise UnknownNameError(f"metric module {module_name!r} holds no METRICS tuple of Metric objects; "
                               "define METRICS = (Metric(...), ...) in it (see docs/metrics.md)")  # fmt: skip
    return tuple(register_metric(m, module_name).name for m in metrics)


BUILTIN_METRIC_NAMES: tuple[str, ...] = tuple(
    name for family in (_overlap, _surface, _volume) for name in _register_module(family.__name__, family.METRICS)
)
METRIC_NAMES = BUILTIN_METRIC_NAMES  # the default of metrics.names, in row order


def _suggest_module(name: str) -> str:
    """A " Did you mean ...?" naming a module next to the deepest importable parent of ``name``, or ""."""
    parts = name.split(".")
    for depth in range(len(parts) - 1, -1, -1):
        parent = ".".join(parts[:depth])
        try:
            paths = importlib.import_module(parent).__path__ if parent else None
        except (ImportError, AttributeError):
            continue
        siblings = [m.name for m in pkgutil.iter_modules(paths)]
        close = difflib.get_close_matches(parts[depth], siblings, n=1)
        return f" Did you mean {'.'.join([*parts[:depth], close[0]])!r}?" if close else ""
    return ""


def load_metric_modules(modules: Sequence[str]) -> tuple[str, ...]:
    """Import outside metric modules (dotted names), register their ``METRICS``; their metric names, in order.

    :class:`UnknownNameError` names a module that cannot be imported (with a did-you-mean)
    or that holds no ``METRICS``. Importing a module again registers nothing new.
    """
    names: list[str] = []
    for module_name in modules:
        try:
            module = importlib.import_module(module_name)
        except ImportError as err:
            if err.name is None or not module_name.startswith(err.name):
                raise  # the module exists but one of its own imports failed: show that error
            raise UnknownNameError(
                f"metrics.extra: cannot import metric module {module_name!r} ({err})."
                f"{_suggest_module(module_name)} Give a dotted module name importable "
                "from the Python path (an installed package, or a folder on PYTHONPATH)"
            ) from err
        names += [n for n in _register_module(module_name, getattr(module, "METRICS", None)) if n not in names]
    return tuple(names)


def get_metric(name: str) -> Metric:
    """The metric called ``name``; :class:`UnknownNameError` with a did-you-mean for an unknown one."""
    metric = _REGISTRY.get(name)
    if metric is None:
        raise UnknownNameError(unknown_metric_message(name))
    return metric


def unknown_metric_message(name: str) -> str:
    """The "did you mean" message for an unknown metric name."""
    return METRICS.unknown_message(name) + " (an outside metric needs its module in metrics.extra)"


def check_metric_name(name: str) -> str:
    """Return ``name`` if it is a known metric, else raise :class:`UnknownNameError` listing the valid ones."""
    get_metric(name)
    return name


class _MetricView(Mapping[str, Metric]):
    """Every registered metric by name, in registration order (built-ins first), read live."""

    def __getitem__(self, name: str) -> Metric:
        return _REGISTRY[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(_REGISTRY))

    def __len__(self) -> int:
        return len(_REGISTRY)


METRIC_INFO: Mapping[str, Metric] = _MetricView()
SURFACE_METRICS: frozenset[str] = frozenset(n for n in BUILTIN_METRIC_NAMES if _REGISTRY[n].uses_surface_distances)
