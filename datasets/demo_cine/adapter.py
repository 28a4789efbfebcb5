"""Adapter of the demo cine phantoms: generated raw 4D NIfTI → one case per (subject, frame)."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from harness.common.dataset import write_case_files
from harness.common.images import Geometry, LabelMap, ScalarImage
from harness.common.records import CaseRecord
from harness.datasets.adapter import DatasetAdapter, RawSubject, SubjectResult
from harness.errors import InputDataError

DEFAULT_SUBJECTS = 16
BASE_SEED = 20261122


class Adapter(DatasetAdapter):
    """Options: ``subjects`` (default 16), ``frames`` (default 8), ``seed``, ``prefix`` (subject names,
    default ``demo``), ``domain`` (``standard`` or ``ultrahigh``: a 7T-like second domain) and ``truth``
    (``masks``, or ``volumes``: no masks and no phase labels, only the true EDV/ESV, like kaggle_dsb)."""

    def prepare_raw(self, raw: Path) -> None:
        n_subjects = int(self.options.get("subjects", DEFAULT_SUBJECTS))
        n_frames = int(self.options.get("frames", 8))
        seed = int(self.options.get("seed", BASE_SEED))
        prefix = str(self.options.get("prefix", "demo"))
        domain = str(self.options.get("domain", "standard"))
        info_path = raw / "info.csv"
        wanted = [(f"{prefix}{i:03d}", seed + i) for i in range(n_subjects)]
        if info_path.is_file():
            with info_path.open() as handle:
                rows = list(csv.DictReader(handle))
            have = [(r["subject"], int(r["seed"])) for r in rows]
            if have == wanted and all(int(r["n_frames"]) == n_frames and r.get("domain") == domain for r in rows):
                return
        from segarena_datasets.demo_cine.phantom import make_phantom  # scipy only when generating

        rows = []
        for subject, subject_seed in wanted:
            phantom = make_phantom(subject_seed, n_frames, domain)
            folder = raw / subject
            folder.mkdir(parents=True, exist_ok=True)
            for name, array in (("cine", phantom.image), ("labels", phantom.labels)):
                image = sitk.JoinSeries([sitk.GetImageFromArray(volume) for volume in array])
                image.SetSpacing((*phantom.spacing_mm, 1.0))
                sitk.WriteImage(image, str(folder / f"{name}.nii.gz"), useCompression=True)
            rows.append(
                {"subject": subject, "n_frames": n_frames, "ed_frame": phantom.ed_frame,
                 "es_frame": phantom.es_frame, "seed": subject_seed, "domain": domain}
            )
        with info_path.open("w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)

    def discover(self, raw: Path) -> list[RawSubject]:
        info_path = raw / "info.csv"
        if not info_path.is_file():
            raise InputDataError(f"{info_path}: missing (the demo_cine raw folder needs info.csv)")
        with info_path.open() as handle:
            rows = list(csv.DictReader(handle))
        return [
            RawSubject(r["subject"], (raw / r["subject"] / "cine.nii.gz", raw / r["subject"] / "labels.nii.gz"), dict(r))
            for r in rows
        ]

    def convert_subject(self, raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
        cine_path, label_path = subject.files
        try:
            cine = sitk.ReadImage(str(cine_path))
            labels = sitk.ReadImage(str(label_path))
        except RuntimeError as err:
            raise InputDataError(f"{cine_path.parent}: unreadable NIfTI ({err})") from err
        cine_array = sitk.GetArrayFromImage(cine)  # (frame, slice, y, x)
        label_array = sitk.GetArrayFromImage(labels).astype(np.uint8)
        if cine_array.shape != label_array.shape:
            raise InputDataError(f"{label_path}: shape {label_array.shape} differs from the image's {cine_array.shape}")
        spacing = tuple(cine.GetSpacing()[:3])
        geometry = Geometry.identity(spacing)
        ed, es = int(subject.extra["ed_frame"]), int(subject.extra["es_frame"])
        masks = str(self.options.get("truth", "masks")) == "masks"  # volumes: like kaggle_dsb, EDV/ESV only
        result = SubjectResult()
        volumes = []
        for frame in range(cine_array.shape[0]):
            phase = ("ED" if frame == ed else "ES" if frame == es else "") if masks else ""
            record = CaseRecord(
                case=f"{subject.subject}_f{frame:02d}", subject=subject.subject, phase=phase, frame=frame,
                n_slices=int(cine_array.shape[1]), spacing_x_mm=spacing[0], spacing_y_mm=spacing[1],
                spacing_z_mm=spacing[2], has_label=masks, site="phantom", vendor="SegArena",
                field_strength_t=7.0 if subject.extra.get("domain") == "ultrahigh" else 1.5,
                source_files=f"{subject.subject}/cine.nii.gz;{subject.subject}/labels.nii.gz",
            )
            write_case_files(out, record, [ScalarImage(cine_array[frame], geometry)],
                             LabelMap(label_array[frame], geometry) if masks else None, max_label=3)
            result.records.append(record)
            volumes.append(float((label_array[frame] == 1).sum()) * geometry.voxel_volume_ml)
        edv, esv = volumes[ed], volumes[es]
        result.subject_rows.append(
            {"subject": subject.subject, "ed_frame": ed, "es_frame": es, "edv_ml": round(edv, 4),
             "esv_ml": round(esv, 4), "ef_pct": round(100 * (edv - esv) / edv, 4)}
        )
        return result
