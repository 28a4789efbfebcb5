"""File-integrity checks the image readers need: ITK silently zero-fills truncated NIfTI files."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from harness.errors import InputDataError


def check_nifti_complete(path: Path) -> None:
    """Raise InputDataError if a NIfTI file holds fewer voxel bytes than its header declares.

    ITK reads a truncated NIfTI (plain or gzipped) without complaint and fills
    the missing voxels with zeros, so every reader checks the length: the
    header's data offset plus voxel count times voxel size against the file
    size, or against the gzip trailer's uncompressed size (mod 2**32); only
    if that disagrees is the stream decompressed to be sure.
    """
    try:
        header: Any = nib.load(str(path)).header  # a Nifti1Header or Nifti2Header
        expected = int(header.get_data_offset()) + int(np.prod(header.get_data_shape())) * header.get_data_dtype().itemsize
    except (OSError, ValueError, EOFError, nib.filebasedimages.ImageFileError) as err:
        raise InputDataError(
            f"{path}: cannot read its NIfTI header; the file may be truncated or corrupt ({type(err).__name__})"
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
            raise InputDataError(
                f"{path}: truncated or corrupt gzip stream, it ends before the {expected} bytes its header "
                f"declares ({err}); download or unpack the file again"
            ) from err
    if found < expected:
        raise InputDataError(
            f"{path}: truncated, holds {found} bytes but its header declares {expected}; download or unpack the file again"
        )
