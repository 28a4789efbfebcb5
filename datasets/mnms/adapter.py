"""Adapter of M&Ms: 4D ``<subject>_sa.nii.gz`` + ``_sa_gt.nii.gz`` + the information CSV → ED/ES cases."""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np

from harness.common.images import Geometry, LabelMap, ScalarImage
from harness.common.records import ConversionEvent
from harness.datasets.adapter import DatasetAdapter, RawSubject, SubjectResult
from harness.errors import InputDataError
from segarena_datasets.shared import cine, volumes

#: M&Ms label codes are already the canonical cardiac map (formats.md §7).
MNMS_LABELS = {0: 0, 1: 1, 2: 2, 3: 3}
MNMS_MEANING = "M&Ms' 0 background, 1 LV, 2 MYO, 3 RV"
CODE_COLUMN = "External code"
KNOWN_COLUMNS = {CODE_COLUMN: "", "VendorName": "vendor_name", "Vendor": "vendor", "Centre": "centre",
                 "ED": "", "ES": ""}
IMAGE_SUFFIX = "_sa.nii.gz"
GT_SUFFIX = "_sa_gt.nii.gz"


def find_information_csv(raw: Path) -> Path:
    """The first CSV at the top of ``raw`` (or one level down) whose header has an ``External code`` column."""
    for path in [*sorted(raw.glob("*.csv")), *sorted(raw.glob("*/*.csv"))]:
        with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
            header = next(csv.reader(handle), [])
        if CODE_COLUMN in (c.strip() for c in header):
            return path
    raise InputDataError(
        f"{raw}: no M&Ms information CSV found (a .csv at the top with an '{CODE_COLUMN}' column, "
        "e.g. 201014_M&Ms_Dataset_Information_-_opendataset.csv)"
    )


def read_information(path: Path) -> dict[str, dict[str, str]]:
    """External code → the row (keys stripped of spaces)."""
    with path.open(newline="", encoding="utf-8-sig", errors="replace") as handle:
        rows = [{(k or "").strip(): (v or "").strip() for k, v in row.items()} for row in csv.DictReader(handle)]
    table: dict[str, dict[str, str]] = {}
    for number, row in enumerate(rows, start=2):
        code = row.get(CODE_COLUMN, "")
        if not code:
            continue
        if code in table:
            raise InputDataError(f"{path}: subject {code} is listed twice (second time on line {number})")
        table[code] = row
    return table


def snake_case(column: str) -> str:
    return re.sub(r"[^0-9a-z]+", "_", column.strip().lower()).strip("_")


def frame_index(row: dict[str, str], key: str, csv_path: Path, subject: str) -> int:
    text = row.get(key, "")
    try:
        value = float(text)
    except ValueError as err:
        raise InputDataError(f"{csv_path}: {key} of subject {subject} is {text!r}, expected a 0-based frame index") from err
    if not value.is_integer():
        raise InputDataError(f"{csv_path}: {key} of subject {subject} is {text!r}, expected a 0-based frame index")
    return int(value)


class Adapter(DatasetAdapter):
    """Options: ``all_frames`` (bool, default false): also write the unlabelled frames as imagesTs cases."""

    def discover(self, raw: Path) -> list[RawSubject]:
        images = sorted(raw.rglob(f"*{IMAGE_SUFFIX}"))
        if not images:
            return []
        csv_path = find_information_csv(raw)
        table = read_information(csv_path)
        subjects: dict[str, RawSubject] = {}
        for image_path in images:
            name = image_path.name.removesuffix(IMAGE_SUFFIX)
            if name in subjects:
                raise InputDataError(f"{image_path}: subject {name} is also in {subjects[name].files[0].parent}")
            gt_path = image_path.with_name(name + GT_SUFFIX)
            files = (image_path, gt_path) if gt_path.is_file() else (image_path,)
            split = image_path.parent.parent.relative_to(raw).as_posix() if image_path.parent != raw else ""
            subjects[name] = RawSubject(
                name, files, {"csv": csv_path, "row": table.get(name), "split": "" if split == "." else split}
            )
        return list(subjects.values())

    def convert_subject(self, raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
        name = subject.subject
        csv_path: Path = subject.extra["csv"]
        row: dict[str, str] | None = subject.extra["row"]
        if row is None:
            raise InputDataError(f"{csv_path}: subject {name} is not listed, so its ED and ES frames are unknown")
        ed, es = (frame_index(row, key, csv_path, name) for key in ("ED", "ES"))
        image_path = subject.files[0]
        gt_path = subject.files[1] if len(subject.files) > 1 else None
        image = volumes.read_volume(image_path)
        frames = volumes.cine_array(image, image_path)
        geometry = volumes.spatial_geometry(image)
        n_frames = frames.shape[0]
        for key, frame in (("ED", ed), ("ES", es)):
            if not 0 <= frame < n_frames:
                raise InputDataError(
                    f"{csv_path}: {key} of subject {name} is {frame}, outside the {n_frames} frames (0..{n_frames - 1}) "
                    f"of {image_path.name}"
                )
        if ed == es:
            raise InputDataError(f"{csv_path}: ED and ES of subject {name} are the same frame ({ed})")
        result = SubjectResult()
        labels = None
        if gt_path is not None:
            labels = self._read_labels(raw, gt_path, image_path, frames.shape, geometry, {ed: "ED", es: "ES"}, result)
        # everything is read and checked before the first file is written
        cases = [
            cine.FrameCase(
                phase, frame, ScalarImage(frames[frame], geometry),
                LabelMap(labels[frame], geometry) if labels is not None else None,
                (image_path, gt_path) if gt_path is not None else (image_path,),
            )
            for phase, frame in (("ED", ed), ("ES", es))
        ]
        if self.options.get("all_frames", False):
            cases += [
                cine.FrameCase("", t, ScalarImage(frames[t], geometry), None, (image_path,))
                for t in range(n_frames) if t not in (ed, es)
            ]
        site = row.get("Centre", "")
        vendor = row.get("VendorName", "") or row.get("Vendor", "")
        result.records = [cine.write_frame_case(raw, out, name, case, site=site, vendor=vendor) for case in cases]
        subject_row: dict[str, object] = {"subject": name}
        subject_row.update({column: row.get(key, "") for key, column in KNOWN_COLUMNS.items() if column})
        subject_row.update(ed_frame=ed, es_frame=es, n_frames=n_frames, split=subject.extra.get("split", ""))
        subject_row.update({snake_case(k): v for k, v in row.items() if k and k not in KNOWN_COLUMNS})
        subject_row.update(cine.lv_volumes(cases))
        result.subject_rows.append(subject_row)
        return result

    @staticmethod
    def _read_labels(
        raw: Path, gt_path: Path, image_path: Path, shape: tuple[int, ...], geometry: Geometry,
        labelled: dict[int, str], result: SubjectResult,
    ) -> np.ndarray:
        """The gt's (t, z, y, x) labels, checked: same grid and frames, known values, labels at ED and ES."""
        gt = volumes.read_volume(gt_path)
        labels = volumes.cine_array(gt, gt_path)
        volumes.check_same_grid(image_path, shape, geometry, gt_path, labels.shape, volumes.spatial_geometry(gt))
        labels = volumes.map_labels(labels, MNMS_LABELS, gt_path, MNMS_MEANING)
        has_labels = [t for t in range(labels.shape[0]) if labels[t].any()]
        for frame, phase in labelled.items():
            if frame not in has_labels:
                raise InputDataError(
                    f"{gt_path}: no labels at the {phase} frame {frame} given by the information CSV; "
                    f"the frames with labels are {has_labels} (0-based)"
                )
        extra = [t for t in has_labels if t not in labelled]
        if extra:
            result.events.append(ConversionEvent(
                gt_path.name.removesuffix(GT_SUFFIX), "labels outside the ED and ES frames",
                "ignored: only the ED and ES frames are labelled cases",
                f"frames {extra} hold labels; ED/ES are {sorted(labelled)}", gt_path.relative_to(raw).as_posix(),
                severity="warning",
            ))
        return labels
