"""Synthetic MR images for the generated variants of real-layout datasets (``sunnybrook_synthetic``, ``spine_synthetic``).

``write_mr_dicom`` writes one 2D MR image as a real DICOM file (pydicom, explicit VR
little endian, the tags a scanner writes given by the caller); ``bias_field`` and
``add_noise`` make the images look like MR (a smooth coil-sensitivity field, Rician
magnitude noise), so that a threshold is not enough to segment them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, MRImageStorage, generate_uid


def write_mr_dicom(path: Path, pixels: np.ndarray, **tags: object) -> None:
    """One 2D MR image (unsigned 16 bit, MONOCHROME2) with ``tags`` (pydicom keywords) at ``path``."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MRImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = MRImageStorage
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "MR"
    data = np.ascontiguousarray(np.clip(np.round(pixels), 0, 4095).astype("<u2"))
    ds.Rows, ds.Columns = data.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    for keyword, value in tags.items():
        setattr(ds, keyword, value)
    ds.PixelData = data.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    pydicom.dcmwrite(path, ds, enforce_file_format=True)


def bias_field(shape: tuple[int, int], rng: np.random.Generator, strength: float = 0.3) -> np.ndarray:
    """A smooth multiplicative field around 1 (a random low-order polynomial over the image)."""
    yy, xx = np.mgrid[-1 : 1 : shape[0] * 1j, -1 : 1 : shape[1] * 1j]
    a, b, c, d = rng.uniform(-1, 1, 4)
    field = a * xx + b * yy + c * xx * yy + d * (xx**2 - yy**2)
    return 1.0 + strength * field / max(1e-6, float(np.abs(field).max()))


def add_noise(image: np.ndarray, rng: np.random.Generator, sd: float) -> np.ndarray:
    """Rician magnitude noise: |image + complex Gaussian noise of standard deviation ``sd``|."""
    real = image + rng.normal(0, sd, image.shape)
    imaginary = rng.normal(0, sd, image.shape)
    return np.hypot(real, imaginary)
