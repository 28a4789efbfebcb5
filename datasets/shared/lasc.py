"""The 2018 Atrial Segmentation Challenge raw format: ``<case>/lgemri.nrrd`` (+ ``laendo.nrrd``) → one case each.

Shared by the la2018 adapter (the challenge's files) and la2018_phantom (generated files in the same layout)."""

from __future__ import annotations

import re
from pathlib import Path

from harness.common.dataset import write_case_files
from harness.common.images import LabelMap, ScalarImage
from harness.common.records import CaseRecord
from harness.datasets.adapter import DatasetAdapter, RawSubject, SubjectResult
from harness.errors import InputDataError
from segarena_datasets.shared import volumes

IMAGE_FILE = "lgemri.nrrd"
MASK_FILE = "laendo.nrrd"
MASK_VALUES = {0: 0, 255: 1}  # LASC masks: 255 = LA cavity


def case_id(folder_name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", folder_name)


class LascAdapter(DatasetAdapter):
    """Discovers and converts LASC case folders."""

    def discover(self, raw: Path) -> list[RawSubject]:
        subjects: dict[str, RawSubject] = {}
        for image_path in sorted(raw.rglob(IMAGE_FILE)):
            folder = image_path.parent
            case = case_id(folder.name)
            if case in subjects:
                other = subjects[case].files[0].parent
                raise InputDataError(
                    f"{folder}: case id '{case}' is also used by {other}; rename one of the two case folders"
                )
            mask_path = folder / MASK_FILE
            files = (image_path, mask_path) if mask_path.is_file() else (image_path,)
            subjects[case] = RawSubject(case, files)
        return list(subjects.values())

    def convert_subject(self, raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
        image_path = subject.files[0]
        mask_path = subject.files[1] if len(subject.files) > 1 else None
        image = volumes.read_volume(image_path)
        image_array = volumes.volume_array(image, image_path)
        geometry = volumes.spatial_geometry(image)
        label = None
        if mask_path is not None:
            mask = volumes.read_volume(mask_path)
            mask_array = volumes.volume_array(mask, mask_path)
            volumes.check_same_grid(
                image_path, image_array.shape, geometry, mask_path, mask_array.shape, volumes.spatial_geometry(mask)
            )
            label_array = volumes.map_labels(mask_array, MASK_VALUES, mask_path, "0 background and 255 LA cavity")
            label = LabelMap(label_array, geometry)
        spacing = geometry.spacing_mm
        record = CaseRecord(
            case=subject.subject,
            subject=subject.subject,
            n_slices=int(image_array.shape[0]),
            spacing_x_mm=spacing[0],
            spacing_y_mm=spacing[1],
            spacing_z_mm=spacing[2],
            has_label=label is not None,
            source_files=";".join(p.relative_to(raw).as_posix() for p in subject.files),
        )
        write_case_files(out, record, [ScalarImage(image_array, geometry)], label, max_label=1)
        return SubjectResult(records=[record])
