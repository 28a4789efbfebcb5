"""Mask files: found by case name, read by the one reader, checked against their reference's geometry.

Masks are NIfTI (``.nii.gz``, ``.nii``), NRRD (``.nrrd``) or MetaImage (``.mha``,
``.mhd``) label maps read by :func:`harness.common.images.read_label` (truncation,
integer storage, NaN and components are checked there). A case's name is the file
name without its extension.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.common.images import ImageFileError, LabelMap
from harness.errors import InputDataError

MASK_SUFFIXES: tuple[str, ...] = (".nii.gz", ".nii", ".nrrd", ".mha", ".mhd")


def split_case_name(path: Path) -> str | None:
    """The case name of a mask file (its name without a known extension), or None if it is no mask file."""
    name = path.name
    for suffix in MASK_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def list_masks(folder: Path, role: str) -> dict[str, Path]:
    """Mask files of ``folder`` by case name; InputDataError if the folder is missing or a name is ambiguous."""
    if not folder.is_dir():
        raise InputDataError(f"{role} folder {folder} does not exist or is not a folder")
    masks: dict[str, Path] = {}
    for path in sorted(folder.iterdir()):
        case = split_case_name(path)
        if case is None or not path.is_file():
            continue
        if case in masks:
            raise InputDataError(f"{role} folder {folder}: case {case!r} has two files, "
                                 f"{masks[case].name} and {path.name}; keep one")  # fmt: skip
        masks[case] = path
    return masks


def _geometry_fields(label: LabelMap) -> dict[str, tuple[float, ...] | tuple[int, ...]]:
    """Size, spacing, origin and direction in SimpleITK's (x, y, z) order."""
    geometry = label.geometry
    return {"size": tuple(reversed(label.array.shape)), "spacing_mm": geometry.spacing_mm,
            "origin_mm": geometry.origin_mm, "direction": geometry.direction}  # fmt: skip


def check_same_geometry(case: str, reference: LabelMap, prediction: LabelMap, path: Path) -> None:
    """Raise ImageFileError (``geometry_mismatch``) naming ``case``, the prediction ``path`` and what differs.

    Size, spacing, origin and direction must agree up to 1e-5 (relative and absolute).
    """
    ref_fields, pred_fields = _geometry_fields(reference), _geometry_fields(prediction)
    for name, ref_value in ref_fields.items():
        pred_value = pred_fields[name]
        same = len(ref_value) == len(pred_value) and np.allclose(ref_value, pred_value, rtol=1e-5, atol=1e-5)
        if not same:
            raise ImageFileError(path, "geometry_mismatch",
                                 f"case {case!r}: prediction {name} {pred_value} of {path} differs from "
                                 f"reference {name} {ref_value}; resample the prediction onto the reference "
                                 "grid")  # fmt: skip


def describe_file_problem(err: InputDataError) -> str:
    """A row's ``reason``: ``<problem>: <message>`` (problem from :data:`~harness.common.integrity.FILE_PROBLEMS`)."""
    problem = err.problem if isinstance(err, ImageFileError) else "unreadable"
    return f"{problem}: {err}"
