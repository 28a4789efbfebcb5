"""Outside plugins for tests/test_registry.py: each plug point from one file or one folder outside harness/."""
