"""Scoring predictions against references: the only place that reads reference masks to score them.

One case loop (:func:`harness.evaluation.case.score_case`) for both callers: the benchmark's
evaluate job (:mod:`harness.evaluation.predictions`, run by ``harness.runner.steps``) and
``segarena evaluate`` (:mod:`harness.evaluation.folder`). One bad file fails only its case:
a row with a status and a ``reason``. The metrics themselves are pure functions in
:mod:`harness.metrics`; this package reads the files and hands them arrays.

* ``files.py``: mask files by case name, the geometry check, a file problem as a ``reason``;
* ``case.py``: one case's rows from its reference and prediction files;
* ``folder.py``: a folder of predictions against a folder of references → a long CSV;
* ``csvfile.py``: that CSV, checked for writing first, never half-written, a fallback on failure;
* ``predictions.py``: the evaluate job's metric rows and per-subject volume rows;
* ``volumes.py``: volume-output methods' ``volumes.csv`` and volume-truth datasets' subject table.
"""
