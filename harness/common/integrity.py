"""File-integrity checks the image readers need: ITK silently zero-fills truncated NIfTI files.

Every problem with one image or mask file is an :class:`ImageFileError`: an
:class:`InputDataError` that names the file and says, in ``problem``, what kind of
problem it is, so that an evaluator can turn it into a failed row for that one case.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from harness.errors import InputDataError

# What can be wrong with one image or mask file (ImageFileError.problem); docs/metrics.md lists them.
FILE_PROBLEMS: tuple[str, ...] = (
    "missing",  # no such file
    "unreadable",  # no reader understands it, or its header is corrupt
    "truncated",  # fewer voxel bytes than its header declares
    "invalid_dtype",  # a mask stored as float (or another non-integer type): labels are integers only
    "invalid_values",  # a mask holding NaN or infinite values
    "invalid_components",  # a mask with more than one component per voxel
    "geometry_mismatch",  # a prediction whose size, spacing, origin or direction differs from its reference
)


class ImageFileError(InputDataError):
    """One image or mask file cannot be used: ``path`` is the file, ``problem`` one of :data:`FILE_PROBLEMS`."""

    def __init__(self, path: Path, problem: str, message: str) -> None:
        if problem not in FILE_PROBLEMS:
            raise ValueError(f"unknown file problem {problem!r}; expected one of {FILE_PROBLEMS}")
        super().__init__(message)
        self.path = path
        self.problem = problem

    def __reduce__(self) -> tuple[type[ImageFileError], tuple[Path, str, str]]:  # picklable across processes
        return (type(self), (self.path, self.problem, str(self)))


def check_nifti_complete(path: Path) -> None:
    """Raise ImageFileError if a NIfTI file holds fewer voxel bytes than its header declares.

    ITK reads a truncated NIfTI (plain or gzipped) without complaint and fills
    the missing voxels with zeros, so every reader checks the length: the
    header's data offset plus voxel count times voxel size against the file
    size, or against the gzip trailer's uncompressed size (mod 2**32); only
    if that disagrees is the stream decompressed to be sure.
    """
    try:
        header: Any = nib.load(str(path)).header  # a Nifti1Header or Nifti2Header
        expected = int(header.get_data_offset()) + int(np.prod(header.get_data_shape())) * header.get_data_dtype().itemsize
    except (OSError, ValueError, EOFError, zlib.error, nib.filebasedimages.ImageFileError) as err:
        if _ends_early(path):
            raise ImageFileError(
                path, "truncated",
                f"{path}: truncated, the file ends inside its NIfTI header or gzip stream; "
                "download, unpack or write the file again",
            ) from err
        raise ImageFileError(
            path, "unreadable",
            f"{path}: cannot read its NIfTI header; the file is not NIfTI or is corrupt ({type(err).__name__})",
        ) from err
    if not path.name.endswith(".gz"):
        found = path.stat().st_size
    else:
        with path.open("rb") as handle:
            handle.seek(-4, 2)
            if int.from_bytes(handle.read(4), "little") == expected % 2**32:
                return
        found = 0
        try:
            with gzip.open(path, "rb") as stream:
                while chunk := stream.read(1 << 24):
                    found += len(chunk)
        except (EOFError, OSError, zlib.error) as err:
            raise ImageFileError(
                path, "truncated",
                f"{path}: truncated or corrupt gzip stream, it ends before the {expected} bytes its header "
                f"declares ({err}); download, unpack or write the file again",
            ) from err
    if found < expected:
        raise ImageFileError(
            path, "truncated",
            f"{path}: truncated, holds {found} bytes but its header declares {expected}; "
            "download, unpack or write the file again",
        )


def _ends_early(path: Path) -> bool:
    """Whether a file whose header cannot be read is cut short: a gzip stream without its end, or < 348 bytes."""
    if not path.name.endswith(".gz"):
        return path.stat().st_size < 348  # the size of a NIfTI-1 header
    try:
        with gzip.open(path, "rb") as stream:
            head = stream.read(348)
            while stream.read(1 << 24):
                pass
    except EOFError:
        return True
    except (OSError, zlib.error):
        return False  # not gzip at all, or corrupt inside
    return len(head) < 348
