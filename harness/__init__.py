"""SegArena: a containerised benchmark harness for medical image segmentation (see harness/README.md)."""

__version__ = "0.1.0"
