"""Test support modules, each named once: synthetic raw-format generators (``raw_<dataset>``), mask I/O, random mask
shapes, the nnU-Net integrity check and the local-isolation helpers. Tests import them as ``tests.support.<name>``."""
