"""Adapter of spinal-muscle MRI slices: ``dicoms/<name>.dcm`` + ``labels/<name>.(png|jpg|npy)`` → one case per slice.

The label map is learnt from the data (or declared with the option ``labels``)
while discovering, before any subject is converted; see README.md.
"""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

from harness.common.dataset import write_case_files
from harness.common.images import Geometry, LabelMap, ScalarImage
from harness.common.records import CaseRecord, ConversionEvent
from harness.datasets.adapter import DatasetAdapter, RawSubject, SubjectResult
from harness.datasets.card import DatasetCard
from harness.errors import ConfigError, InputDataError
from segarena_datasets.spine_slices import label_files

GROUP_BY = ("patient_id", "name_prefix")
_DICOM_ERRORS = (InvalidDicomError, OSError, EOFError, ValueError, AttributeError, KeyError, TypeError,
                 NotImplementedError, RuntimeError)


def case_id(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", name)


def name_prefix(name: str) -> str:
    return name.split("_", 1)[0]


def read_dicom_slice(path: Path) -> tuple[np.ndarray, Geometry, dict[str, Any]]:
    """One 2D DICOM slice → ((1, rows, columns) array, 3D geometry, header facts); errors name the file."""
    try:
        ds = pydicom.dcmread(path)
    except _DICOM_ERRORS as err:
        raise InputDataError(f"{path}: not a readable DICOM file ({err})") from err
    missing = [tag for tag in ("Rows", "Columns", "PixelSpacing", "PixelData") if tag not in ds]
    if missing:
        raise InputDataError(f"{path}: missing DICOM tag(s) {', '.join(missing)}")
    if int(getattr(ds, "NumberOfFrames", 1) or 1) != 1:
        raise InputDataError(f"{path}: multi-frame DICOM ({ds.NumberOfFrames} frames); expected one slice per file")
    try:
        pixels = ds.pixel_array
    except _DICOM_ERRORS as err:
        raise InputDataError(f"{path}: pixel data cannot be decoded, the file may be truncated ({err})") from err
    if pixels.ndim != 2:
        raise InputDataError(f"{path}: expected one grey-level slice, pixel data has shape {pixels.shape}")
    slope, intercept = float(getattr(ds, "RescaleSlope", 1) or 1), float(getattr(ds, "RescaleIntercept", 0) or 0)
    if (slope, intercept) != (1.0, 0.0):
        pixels = (pixels * slope + intercept).astype(np.float32)
    try:
        row_mm, column_mm = (float(v) for v in ds.PixelSpacing)
        thickness = float(getattr(ds, "SliceThickness", 0) or 0)
        origin = tuple(float(v) for v in ds.ImagePositionPatient) if "ImagePositionPatient" in ds else (0.0, 0.0, 0.0)
        cosines = [float(v) for v in ds.ImageOrientationPatient] if "ImageOrientationPatient" in ds else None
    except (TypeError, ValueError) as err:
        raise InputDataError(f"{path}: malformed geometry tag ({err})") from err
    if row_mm <= 0 or column_mm <= 0:
        raise InputDataError(f"{path}: PixelSpacing {list(ds.PixelSpacing)} is not positive")
    direction = np.eye(3)
    if cosines is not None:
        if len(cosines) != 6:
            raise InputDataError(f"{path}: ImageOrientationPatient has {len(cosines)} values, expected 6")
        row, column = np.asarray(cosines[:3]), np.asarray(cosines[3:])
        row, column = row / np.linalg.norm(row), column / np.linalg.norm(column)
        direction = np.column_stack([row, column, np.cross(row, column)])
    geometry = Geometry(
        spacing_mm=(column_mm, row_mm, thickness if thickness > 0 else 1.0),
        origin_mm=origin,  # type: ignore[arg-type]
        direction=tuple(float(v) for v in direction.ravel()),
    )
    facts = {
        "patient_id": str(getattr(ds, "PatientID", "") or "").strip(),
        "vendor": str(getattr(ds, "Manufacturer", "") or ""),
        "field_strength_t": float(ds.MagneticFieldStrength) if getattr(ds, "MagneticFieldStrength", None) else None,
    }
    return pixels[np.newaxis], geometry, facts


def read_patient_id(path: Path) -> str | None:
    """The PatientID of a DICOM file (header only); None if unreadable, '' if absent."""
    try:
        ds = pydicom.dcmread(path, stop_before_pixels=True, specific_tags=["PatientID"])
    except _DICOM_ERRORS:
        return None
    return str(getattr(ds, "PatientID", "") or "").strip()


class Adapter(DatasetAdapter):
    """Options: ``labels`` ({name: ROI id}, background: 0; default: learnt from the lossless labels),
    ``group_by`` (``patient_id``, the default, or ``name_prefix``: the file name before the first ``_``)."""

    def __init__(self, card: DatasetCard, options: dict[str, Any] | None = None) -> None:
        # The label map is only known after discover(); this adapter keeps its own copy of the card
        # and fills its labels in there (convert_dataset builds the DatasetWriter from adapter.card).
        super().__init__(card.model_copy(deep=True), options)
        self.group_by = str(self.options.get("group_by", "patient_id"))
        if self.group_by not in GROUP_BY:
            raise ConfigError(f"spine_slices option group_by: {self.group_by!r} is not one of {', '.join(GROUP_BY)}")
        declared = self.options.get("labels")
        if declared is not None and not isinstance(declared, dict):
            raise ConfigError("spine_slices option labels: expected a mapping {name: ROI id}")
        try:
            self.label_map = label_files.LabelMapSpec.declared(declared) if declared else None
        except InputDataError as err:
            raise ConfigError(str(err)) from err
        self.declared = declared is not None
        self.discovery_events: list[ConversionEvent] = []

    def discover(self, raw: Path) -> list[RawSubject]:
        dicom_dir, label_dir = raw / "dicoms", raw / "labels"
        if not dicom_dir.is_dir():
            return []
        events: list[ConversionEvent] = []
        dicoms = {p.stem: p for p in sorted(dicom_dir.iterdir()) if p.suffix.lower() == ".dcm" and p.is_file()}
        labels = self._label_files(raw, label_dir, set(dicoms), events)
        ids: dict[str, str] = {}
        for name in dicoms:
            other = ids.setdefault(case_id(name), name)
            if other != name:
                raise InputDataError(f"{dicom_dir}: {other}.dcm and {name}.dcm give the same case id '{case_id(name)}'")
        groups = self._groups(raw, dicoms, events)
        self._learn_label_map(raw, labels, groups, events)
        by_group: dict[str, list[tuple[str, Path, Path | None]]] = defaultdict(list)
        for name, path in dicoms.items():
            by_group[groups[name]].append((name, path, labels.get(name)))
        self.discovery_events = events
        return [
            RawSubject(group, tuple(p for _, p, _ in samples), {"samples": samples})
            for group, samples in sorted(by_group.items())
        ]

    def _label_files(
        self, raw: Path, label_dir: Path, names: set[str], events: list[ConversionEvent]
    ) -> dict[str, Path]:
        """Sample name → its label file (lossless preferred); orphan and duplicate labels are logged."""
        found: dict[str, list[Path]] = defaultdict(list)
        if label_dir.is_dir():
            for path in sorted(label_dir.iterdir()):
                if path.is_file() and path.suffix.lower() in label_files.LABEL_SUFFIXES:
                    found[path.stem].append(path)
        chosen: dict[str, Path] = {}
        for name, paths in sorted(found.items()):
            paths.sort(key=lambda p: label_files.LABEL_SUFFIXES.index(p.suffix.lower()))
            rel = paths[0].relative_to(raw).as_posix()
            if name not in names:
                events.append(ConversionEvent(
                    name_prefix(name), "label for an image that does not exist", "label ignored",
                    f"{rel} has no dicoms/{name}.dcm", rel, severity="error",
                ))
                continue
            if len(paths) > 1:
                events.append(ConversionEvent(
                    name_prefix(name), "several label files for one image", f"used {paths[0].name}",
                    "found " + ", ".join(p.name for p in paths), rel, severity="warning",
                ))
            chosen[name] = paths[0]
        return chosen

    def _groups(self, raw: Path, dicoms: dict[str, Path], events: list[ConversionEvent]) -> dict[str, str]:
        """Sample name → split group: the DICOM PatientID, or the name prefix (see README)."""
        prefixes = {name: name_prefix(name) for name in dicoms}
        if self.group_by == "name_prefix":
            return prefixes
        patient_ids = {name: read_patient_id(path) for name, path in dicoms.items()}
        lacking = sorted(n for n, pid in patient_ids.items() if pid == "")
        if lacking:
            events.append(ConversionEvent(
                "", "DICOM PatientID missing", "grouped every sample by its name prefix (before the first _)",
                f"{len(lacking)} file(s) without PatientID, e.g. dicoms/{lacking[0]}.dcm", severity="warning",
            ))
            return prefixes
        return {name: pid if pid else prefixes[name] for name, pid in patient_ids.items()}  # unreadable: prefix

    def _learn_label_map(
        self, raw: Path, labels: dict[str, Path], groups: dict[str, str], events: list[ConversionEvent]
    ) -> None:
        """Learn (or check) the ROI ids from the lossless labels, then put the map into the card."""
        values: dict[str, list[int]] = {}
        for name, path in labels.items():
            if label_files.is_lossy(path):
                continue
            try:
                values[name] = np.unique(label_files.read_label_file(path)).tolist()
            except InputDataError:
                continue  # reported when the sample is converted
        if self.label_map is None:
            if not values and labels:
                raise InputDataError(
                    f"{raw / 'labels'}: only JPEG labels, from which no label map can be learnt (JPEG changes pixel "
                    "values); declare the ROI ids with the adapter option `labels: {background: 0, <name>: <id>, ...}`"
                )
            self.label_map = label_files.LabelMapSpec.learnt(v for vs in values.values() for v in vs)
            events.append(ConversionEvent(
                "", "label map learnt from the data", "ROI ids mapped to consecutive labels",
                ", ".join(f"ROI {roi} → {label} {name}" for label, (roi, name) in
                          enumerate(zip(self.label_map.roi_ids, self.label_map.names, strict=True)))
                + f" (from {len(values)} lossless label file(s))",
            ))
        if len(values) > 1:
            for roi, samples in sorted(label_files.samples_per_roi(values).items()):
                if roi != 0 and len(samples) == 1:
                    rel = labels[samples[0]].relative_to(raw).as_posix()
                    events.append(ConversionEvent(
                        groups[samples[0]], "ROI id seen in one sample only", "kept; check the label file",
                        f"ROI id {roi} appears only in {rel} of {len(values)} lossless label files", rel,
                        severity="warning",
                    ))
        self.card.labels.clear()  # see __init__: the card is this adapter's own copy
        self.card.labels.update(self.label_map.labels)

    def convert_subject(self, raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
        assert self.label_map is not None, "discover() learns the label map first"
        result = SubjectResult()
        for name, dicom_path, label_path in subject.extra["samples"]:
            try:
                result.records.append(self._convert_sample(raw, subject.subject, name, dicom_path, label_path, out, result))
            except InputDataError as err:
                result.events.append(ConversionEvent(
                    subject.subject, "unreadable sample", "sample skipped", str(err),
                    dicom_path.relative_to(raw).as_posix(), severity="error",
                ))
        if result.records:
            result.subject_rows.append({"subject": subject.subject, "n_slices": len(result.records),
                                        "n_labelled": sum(r.has_label for r in result.records)})
        return result

    def _convert_sample(
        self, raw: Path, group: str, name: str, dicom_path: Path, label_path: Path | None, out: Path,
        result: SubjectResult,
    ) -> CaseRecord:
        assert self.label_map is not None
        pixels, geometry, facts = read_dicom_slice(dicom_path)
        label = None
        if label_path is None:
            result.events.append(ConversionEvent(
                group, "image without a label file", "written as an unlabelled (imagesTs) case",
                f"no labels/{name}.(png|jpg|npy)", dicom_path.relative_to(raw).as_posix(),
            ))
        else:
            raw_label = label_files.read_label_file(label_path)
            if raw_label.shape != pixels.shape[1:]:
                raise InputDataError(
                    f"{label_path}: label size {raw_label.shape[1]}×{raw_label.shape[0]} (columns×rows) differs from "
                    f"the image's {pixels.shape[2]}×{pixels.shape[1]} ({dicom_path.name})"
                )
            if label_files.is_lossy(label_path):
                array, changed = self.label_map.snap(raw_label)
                result.events.append(ConversionEvent(
                    group, "JPEG-compressed label", "snapped every pixel to the nearest ROI id",
                    f"{changed} of {raw_label.size} pixels changed", label_path.relative_to(raw).as_posix(),
                ))
            else:
                array = self.label_map.to_labels(raw_label, label_path)
            label = LabelMap(array[np.newaxis], geometry)
        spacing = geometry.spacing_mm
        record = CaseRecord(
            case=case_id(name), subject=group, n_slices=1, spacing_x_mm=spacing[0], spacing_y_mm=spacing[1],
            spacing_z_mm=spacing[2], has_label=label is not None, group=group, vendor=facts["vendor"],
            field_strength_t=facts["field_strength_t"],
            source_files=";".join(p.relative_to(raw).as_posix() for p in (dicom_path, label_path) if p is not None),
        )
        write_case_files(out, record, [ScalarImage(pixels, geometry)], label, max_label=len(self.label_map.roi_ids) - 1)
        return record

    def finish(self, raw: Path, out: Path, results: list[SubjectResult]) -> list[ConversionEvent]:
        return list(self.discovery_events)
