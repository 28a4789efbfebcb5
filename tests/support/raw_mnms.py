"""Write a tiny M&Ms raw tree: 4D ``_sa`` / ``_sa_gt`` NIfTI (nibabel) and the information CSV.

Layout: ``<root>/OpenDataset/Training/Labeled/<code>/``, ``.../Training/Unlabeled/<code>/`` and the CSV
``<root>/201014_M&Ms_Dataset_Information_-_opendataset.csv`` (with the release's unnamed index column).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tests.support.raw_acdc import Cine, cine_phantom, save_nifti

CSV_NAME = "201014_M&Ms_Dataset_Information_-_opendataset.csv"
COLUMNS = ["", "External code", "VendorName", "Vendor", "Centre", "ED", "ES", "Pathology", "Age", "Sex"]


@dataclass(frozen=True)
class MnmsSubject:
    code: str
    folder: Path
    cine: Cine
    ed: int  # 0-based, as in the CSV
    es: int
    vendor: str
    vendor_name: str
    centre: int
    pathology: str
    with_gt: bool


def write_subject(
    root: Path, split: str, code: str, seed: int, *, ed: int = 0, es: int = 3, vendor: str = "A",
    vendor_name: str = "Siemens", centre: int = 1, pathology: str = "NOR", with_gt: bool = True, n_frames: int = 6,
) -> MnmsSubject:
    folder = root / "OpenDataset" / split / code
    cine = cine_phantom(seed, n_frames, (1.25, 1.25, 9.2), tilt_deg=5.0 * seed)
    save_nifti(folder / f"{code}_sa.nii.gz", cine.image, cine.affine)
    if with_gt:
        gt = np.zeros_like(cine.labels)
        gt[ed], gt[es] = cine.labels[ed], cine.labels[es]
        save_nifti(folder / f"{code}_sa_gt.nii.gz", gt, cine.affine)
    return MnmsSubject(code, folder, cine, ed, es, vendor, vendor_name, centre, pathology, with_gt)


def write_csv(root: Path, subjects: list[MnmsSubject], extra_rows: list[list[object]] = ()) -> Path:
    path = root / CSV_NAME
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for i, s in enumerate(subjects):
            writer.writerow([i, s.code, s.vendor_name, s.vendor, s.centre, s.ed, s.es, s.pathology, 40 + i, "M"])
        for row in extra_rows:
            writer.writerow(row)
    return path


def write_mnms(root: Path) -> dict[str, MnmsSubject]:
    """Two labelled subjects (vendors A and B), one unlabelled, and a CSV row for a subject not on disk."""
    subjects = [
        write_subject(root, "Training/Labeled", "A0S9V9", 1),
        write_subject(root, "Training/Labeled", "K4T7Y0", 2, ed=1, es=4, vendor="B", vendor_name="Philips",
                      centre=2, pathology="HCM"),
        write_subject(root, "Training/Unlabeled", "C8J7L5", 3, ed=0, es=2, vendor="C", vendor_name="GE",
                      centre=4, pathology="", with_gt=False),
    ]
    write_csv(root, subjects, extra_rows=[[99, "Z9Z9Z9", "Canon", "D", 5, 0, 9, "DCM", 50, "F"]])
    return {s.code: s for s in subjects}


def add_bad_subjects(root: Path, good: dict[str, MnmsSubject]) -> dict[str, str]:
    """Broken subjects (the CSV is rewritten); returns subject → the file the error must name."""
    csv_path = root / CSV_NAME
    bad: dict[str, str] = {}
    listed = list(good.values())
    s = write_subject(root, "Training/Labeled", "B1B1B1", 4)  # gt value 7
    gt = np.zeros_like(s.cine.labels)
    gt[s.ed], gt[s.es] = s.cine.labels[s.ed], s.cine.labels[s.es]
    gt[s.es, 0, 0, 0] = 7
    save_nifti(s.folder / "B1B1B1_sa_gt.nii.gz", gt, s.cine.affine)
    bad[s.code] = str(s.folder / "B1B1B1_sa_gt.nii.gz")
    listed.append(s)
    s = write_subject(root, "Training/Labeled", "B2B2B2", 5)  # gt with one frame fewer
    save_nifti(s.folder / "B2B2B2_sa_gt.nii.gz", s.cine.labels[:-1], s.cine.affine)
    bad[s.code] = str(s.folder / "B2B2B2_sa_gt.nii.gz")
    listed.append(s)
    s = write_subject(root, "Training/Labeled", "B3B3B3", 6)  # not in the CSV
    bad[s.code] = str(csv_path)
    s = write_subject(root, "Training/Labeled", "B4B4B4", 7)  # CSV ES 1-based by mistake → empty frame
    listed.append(MnmsSubject(s.code, s.folder, s.cine, s.ed, s.es + 1, s.vendor, s.vendor_name, s.centre,
                              s.pathology, True))
    bad[s.code] = str(s.folder / "B4B4B4_sa_gt.nii.gz")
    s = write_subject(root, "Training/Labeled", "B5B5B5", 8)  # ED beyond the frames
    listed.append(MnmsSubject(s.code, s.folder, s.cine, 6, s.es, s.vendor, s.vendor_name, s.centre,
                              s.pathology, True))
    bad[s.code] = str(csv_path)
    s = write_subject(root, "Training/Labeled", "B6B6B6", 9)  # truncated image
    path = s.folder / "B6B6B6_sa.nii.gz"
    path.write_bytes(path.read_bytes()[:-100])
    bad[s.code] = str(path)
    listed.append(s)
    write_csv(root, listed)
    return bad
