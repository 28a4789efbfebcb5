"""Adapter of the Kaggle Second Annual Data Science Bowl: short-axis cine DICOM → one case per (subject, frame).

There are no masks: each frame becomes an image without reference (imagesTs),
and the true end-diastolic / end-systolic LV volumes of each patient go to
``subjects.csv``. The curation follows cmr-seg-tl's conversion (see README.md);
each change is a row of the conversion log.
"""

from __future__ import annotations

import dataclasses
import re
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from harness.common.dataset import write_case_files
from harness.common.images import Geometry, ScalarImage
from harness.common.records import CaseRecord, ConversionEvent
from harness.datasets.adapter import DatasetAdapter, RawSubject, SubjectResult
from harness.datasets.card import DatasetCard
from harness.errors import ConfigError, InputDataError
from segarena_datasets.kaggle_dsb import dicom_reader
from segarena_datasets.kaggle_dsb import grid as grid_mod
from segarena_datasets.kaggle_dsb import stacks as stacks_mod
from segarena_datasets.kaggle_dsb import truth as truth_mod

SETS = ("train", "validate", "test")
OPTIONS = {"max_size_px": 256, "rot90_copy": False}
META_KEYS = ("age_years", "sex", "field_strength_t", "vendor", "model")


def _natural(name: str) -> tuple[int, str]:
    match = re.match(r"\d+", name)
    return (int(match[0]) if match else sys.maxsize, name)


def _most_common(values: list[Any]) -> Any:
    present = [v for v in values if v not in (None, "")]
    return Counter(present).most_common(1)[0][0] if present else None


class Adapter(DatasetAdapter):
    """Options: ``max_size_px`` (256: larger images are downscaled), ``rot90_copy`` (false).

    One case per (series, frame). With ``rot90_copy: true`` a series with rows < columns also
    gets a rotated copy ``<series>_rot90`` (cmr-seg-tl's training augmentation): its cases and
    subject row have ``primary`` false, so the harness never tests or scores them.
    """

    def __init__(self, card: DatasetCard, options: dict[str, Any] | None = None) -> None:
        super().__init__(card, options)
        unknown = sorted(set(self.options) - set(OPTIONS))
        if unknown:
            raise ConfigError(f"dataset kaggle_dsb: unknown option(s) {unknown}; available: {sorted(OPTIONS)}")
        self.max_size_px = int(self.options.get("max_size_px", OPTIONS["max_size_px"]))
        self.rot90_copy = bool(self.options.get("rot90_copy", OPTIONS["rot90_copy"]))
        self._truth: dict[str, Any] = {}
        self._sets_found: set[str] = set()

    def discover(self, raw: Path) -> list[RawSubject]:
        self._truth = truth_mod.read_truth(raw)
        subjects: list[RawSubject] = []
        seen: dict[str, Path] = {}
        self._sets_found = set()
        for set_name in SETS:
            for base in (raw / set_name, raw / set_name / set_name):  # unzipping doubles the folder
                if not base.is_dir():
                    continue
                for patient_dir in sorted(base.iterdir(), key=lambda p: _natural(p.name)):
                    study = patient_dir / "study"
                    if not study.is_dir():
                        continue
                    patient = patient_dir.name
                    if patient in seen:
                        raise InputDataError(
                            f"patient {patient} appears twice: {seen[patient].relative_to(raw)} and "
                            f"{patient_dir.relative_to(raw)}; keep one copy"
                        )
                    seen[patient] = patient_dir
                    self._sets_found.add(set_name)
                    files = tuple(sorted(p for p in study.glob("sax_*/*") if p.is_file() and p.suffix.lower() == ".dcm"))
                    truth = self._truth.get(patient)
                    subjects.append(RawSubject(patient, files, {  # plain values: extra travels to worker processes
                        "set": set_name, "folder": patient_dir.relative_to(raw).as_posix(),
                        "truth": dataclasses.asdict(truth) if truth is not None else None,
                    }))
        return subjects

    def convert_subject(self, raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
        patient = subject.subject
        if not subject.files:
            raise InputDataError(f"{subject.extra['folder']}/study: no short-axis DICOM files (sax_*/*.dcm)")
        images = [dicom_reader.read_dicom_image(path, raw) for path in subject.files]
        result = SubjectResult()
        stacks, events = stacks_mod.build_stacks(images, patient)
        result.events += events
        metas = [stack.first.patient_meta() for stack in stacks]
        meta = {key: _most_common([m[key] for m in metas]) for key in META_KEYS}
        orientation, stacks, events = grid_mod.common_orientation(stacks, patient)
        result.events += events
        groups, events = stacks_mod.split_repeated_series(stacks, patient)
        result.events += events
        truth = subject.extra.get("truth")
        if truth is None:
            result.events.append(ConversionEvent(patient, "no truth volumes", "edv_ml and esv_ml left empty",
                                                 "the patient is in none of train.csv, validate.csv, solution.csv",
                                                 severity="warning"))
        for name, group in groups:
            self._convert_group(name, group, orientation, patient, subject.extra["set"], truth, meta, out, result)
        return result

    def _convert_group(self, name: str, stacks: list[Any], orientation: tuple[float, ...], patient: str,
                       set_name: str, truth: dict[str, Any] | None, meta: dict[str, Any], out: Path, result: SubjectResult) -> None:
        stacks, events = stacks_mod.remove_duplicate_locations(stacks, name)
        result.events += events
        spacing, events = stacks_mod.empirical_slice_spacing(stacks, name)
        result.events += events
        slices, events = stacks_mod.regularise_slices(stacks, spacing, name)
        result.events += events
        n_frames, events = stacks_mod.assign_frames(slices, name)
        result.events += events
        originals = list({id(s.stack): s.stack for s in slices}.values())
        grid, events = grid_mod.plan_grid(originals, orientation, self.max_size_px, name)
        result.events += events
        slices = grid_mod.order_along_normal(slices, grid)
        mapped = {
            id(stack): grid_mod.map_stack(np.stack([image.pixels() for image in stack.images]), stack, grid)
            for stack in originals
        }
        volume = np.empty((n_frames, len(slices), grid.rows, grid.columns),
                          dtype=np.result_type(*[m.dtype for m in mapped.values()]))
        for z, slice_ in enumerate(slices):
            volume[:, z] = mapped[id(slice_.stack)][slice_.frames]
        geometry = grid_mod.volume_geometry(grid, slices, spacing)
        sources = [
            ";".join(slice_.stack.images[slice_.frames[t]].rel for slice_ in slices) for t in range(n_frames)
        ]
        # primary: the series as acquired, the one case that is scored; a _rot90 copy is augmentation only
        base_row = {"patient_id": patient, "set": set_name, "repeat": name[len(patient) + 1:],
                    "rot90": False, "primary": True, "scale_factor": round(grid.scale_factor, 6)}
        variants: list[tuple[str, np.ndarray, Geometry, dict[str, Any]]] = [(name, volume, geometry, base_row)]
        if self.rot90_copy and grid.rows < grid.columns:
            rotated, rotated_geometry = grid_mod.rotate90(volume, geometry)
            variants.append((f"{name}_rot90", rotated, rotated_geometry, {**base_row, "rot90": True, "primary": False}))
            result.events.append(ConversionEvent(
                name, "rows < columns",
                f"rotated copy {name}_rot90 written as augmentation (primary false: never tested or scored)",
                f"{grid.rows} x {grid.columns} px; the copy is {grid.columns} x {grid.rows} px (np.rot90 as cmr-seg-tl)"))
        digits = max(2, len(str(n_frames - 1)))
        for subject_name, array, geo, row in variants:
            for t in range(n_frames):
                record = CaseRecord(
                    case=f"{subject_name}_f{t:0{digits}d}", subject=subject_name, frame=t, n_slices=len(slices),
                    spacing_x_mm=geo.spacing_mm[0], spacing_y_mm=geo.spacing_mm[1], spacing_z_mm=geo.spacing_mm[2],
                    has_label=False, group=patient, vendor=meta["vendor"] or "",
                    field_strength_t=meta["field_strength_t"], source_files=sources[t], primary=bool(row["primary"]),
                )
                write_case_files(out, record, [ScalarImage(array[t], geo)], None)
                result.records.append(record)
            result.subject_rows.append(self._subject_row(subject_name, row, truth, meta, array, geo, n_frames))

    @staticmethod
    def _subject_row(subject: str, row: dict[str, Any], truth: dict[str, Any] | None, meta: dict[str, Any],
                     array: np.ndarray, geometry: Geometry, n_frames: int) -> dict[str, object]:
        truth = truth or {}
        edv, esv = truth.get("edv_ml"), truth.get("esv_ml")
        ef = round(100 * (edv - esv) / edv, 4) if edv and esv is not None else None
        return {
            "subject": subject, **row, "edv_ml": edv, "esv_ml": esv, "ef_pct": ef,
            "usage": truth.get("usage", ""),
            "n_frames": n_frames, "n_slices": array.shape[1], "rows": array.shape[2], "columns": array.shape[3],
            "spacing_x_mm": round(geometry.spacing_mm[0], 6), "spacing_y_mm": round(geometry.spacing_mm[1], 6),
            "slice_spacing_mm": round(geometry.spacing_mm[2], 6),
            **{key: meta[key] for key in META_KEYS},
        }

    def finish(self, raw: Path, out: Path, results: list[SubjectResult]) -> list[ConversionEvent]:
        """Report truth rows of the sets present whose patient has no image folder."""
        converted = {row["patient_id"] for result in results for row in result.subject_rows}
        failed = {e.subject for result in results for e in result.events if e.severity == "error"}
        events = []
        for set_name in sorted(self._sets_found):
            orphans = sorted((t.patient_id for t in self._truth.values()
                              if t.set == set_name and t.patient_id not in converted | failed), key=_natural)
            if orphans:
                shown = ", ".join(orphans[:10]) + (", ..." if len(orphans) > 10 else "")
                events.append(ConversionEvent("(dataset)", "truth without images", "ignored",
                                              f"{len(orphans)} {set_name} Id(s) of {truth_mod.TRUTH_FILES[set_name]} "
                                              f"have no image folder: {shown}", truth_mod.TRUTH_FILES[set_name],
                                              "warning"))
        return events
