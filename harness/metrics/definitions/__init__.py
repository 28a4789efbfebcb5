"""The built-in metrics, one module per family (overlap, surface, volume), each a ``METRICS`` tuple.

A new metric is one :class:`~harness.metrics.metric.Metric` in the family's module (or, from
outside the harness, in a module named in ``metrics.extra``); nothing else changes.
"""
