"""Reading SegArena's common format (nnU-Net v2 raw layout) and the contract's files, as every method does.

``dataset.json``, the cases of a folder (``<case>_0000<ending>``), a label map, ``--init``'s ``init.json``,
and the ``history.csv`` a training writes. numpy and SimpleITK are imported only by :func:`read_label`.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from segarena_kit.errors import MethodError


def read_json_object(path: Path, where: str, what: str) -> dict[str, Any]:
    """The JSON object in ``path``; errors start with ``where`` and call the file ``what``."""
    try:
        value = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise MethodError(f"{where}: cannot read {what} ({err})") from err
    if not isinstance(value, dict):
        raise MethodError(f"{where}: expected a JSON object, got {type(value).__name__}")
    return value


INIT_EXPECTED = '{"kind": "finetune" | "imagenet", "file": "<weights file in that folder>"}'


def read_dataset_json(folder: Path, *, method: str | None = None, channels: int | None = None,
                      why: str = "") -> dict[str, Any]:
    """``folder/dataset.json``, which must name ``file_ending`` and ``labels``; with ``channels``, exactly that
    many ``channel_names`` (``method`` and ``why`` make the message: a method that reads one channel)."""
    path = folder / "dataset.json"
    meta = read_json_object(path, str(path), "the common format's dataset.json")
    for key in ("file_ending", "labels"):
        if key not in meta:
            raise MethodError(f"{path}: no {key!r} (a common-format dataset.json has file_ending and labels)")
    if channels is not None:
        names = meta.get("channel_names", {"0": "image"})
        if len(names) != channels:
            raise MethodError(f"{path}: {len(names)} channel(s) {names}; {method or 'this method'} reads "
                              f"{channels}{f' ({why})' if why else ''}")
    return meta


def list_cases(folder: Path, ending: str) -> list[str]:
    """The case names of ``folder``: every ``<case>_0000<ending>``, sorted."""
    return sorted({p.name[: -len(ending) - 5] for p in folder.glob(f"*_0000{ending}")})


def read_label(folder: Path, case: str, ending: str) -> Any:
    """``folder/<case><ending>`` as a (Z, Y, X) numpy array (Z = 1 for a 2D case)."""
    import SimpleITK as sitk

    path = folder / f"{case}{ending}"
    try:
        label = sitk.GetArrayFromImage(sitk.ReadImage(str(path)))
    except RuntimeError as err:
        raise MethodError(f"case {case}: cannot read its label map {path}") from err
    return label[None] if label.ndim == 2 else label


def read_init_json(folder: Path, *, without_file: str | None = None) -> tuple[str, Path | None]:
    """(kind, weights file) from ``folder/init.json`` (the harness writes it for a transfer regime).

    ``{"kind": "imagenet"}`` without a file asks for the library's published weights: the result is
    ``("imagenet", None)``, or, when the method has none to fetch, an error that says ``without_file``.
    """
    expected = INIT_EXPECTED + ("" if without_file else ' or {"kind": "imagenet"} (the library\'s published weights)')
    spec_path = folder / "init.json"
    try:
        spec = json.loads(spec_path.read_text())
    except FileNotFoundError as err:
        raise MethodError(f"--init {folder}: no init.json; expected {expected} beside the weights file") from err
    except (OSError, json.JSONDecodeError) as err:
        raise MethodError(f"--init {folder}: cannot read init.json ({err}); expected {expected}") from err
    if spec == {"kind": "imagenet"}:
        if without_file:
            raise MethodError(f"--init {spec_path}: {without_file}")
        return "imagenet", None
    if not isinstance(spec, dict) or spec.get("kind") not in ("finetune", "imagenet") \
            or not isinstance(spec.get("file"), str) or not spec["file"]:
        raise MethodError(f"--init {spec_path}: got {spec!r}; expected {expected}")
    path = folder / spec["file"]
    if not path.is_file():
        raise MethodError(f"--init {spec_path}: weights file {spec['file']!r} is not in {folder}")
    return str(spec["kind"]), path


def write_history(path: Path, rows: Iterable[Mapping[str, Any]], columns: list[str]) -> None:
    """``history.csv``: one row per epoch under ``columns`` (the contract's per-epoch record)."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def label_values(labels: Mapping[str, Any]) -> tuple[list[str], list[int]]:
    """Class k = the k-th label of dataset.json by value: (names, values)."""
    ordered = sorted(labels.items(), key=lambda item: int(item[1]))
    return [n for n, _ in ordered], [int(v) for _, v in ordered]


def to_classes(label: Any, values: list[int], where: str) -> Any:
    """Label values → class indices (the k-th of ``values`` is class k); a value not in ``values`` fails."""
    import numpy as np

    unknown = sorted(set(np.unique(label).tolist()) - set(values))
    if unknown:
        raise MethodError(f"{where}: label values {unknown} are not in dataset.json's labels {values}")
    lut = np.zeros(max(values) + 1, dtype=np.int64)
    for index, value in enumerate(values):
        lut[value] = index
    return lut[label.astype(np.int64)]
