"""The BraTS 2018 raw format: ``<HGG|LGG>/<case>/<case>_{t1,t1ce,t2,flair,seg}.nii.gz`` → one 4-channel case each.

Shared by the brats2018 adapter (the challenge's files) and brats2018_phantom (generated files in the same layout)."""

from __future__ import annotations

from pathlib import Path

from harness.common.dataset import write_case_files
from harness.common.images import LabelMap, ScalarImage
from harness.common.records import CaseRecord
from harness.datasets.adapter import DatasetAdapter, RawSubject, SubjectResult
from harness.errors import InputDataError
from segarena_datasets.shared import volumes

#: File suffixes of the four channels, in channel order (dataset.json channel 0..3), and of the mask.
CHANNEL_SUFFIXES = ("t1", "t1ce", "t2", "flair")
SEG_SUFFIX = "seg"
GRADES = ("HGG", "LGG")
#: BraTS 2018 values → consecutive labels (see dataset.yaml): 2 ED → 1, 1 NCR/NET → 2, 4 ET → 3.
LABEL_MAP = {0: 0, 2: 1, 1: 2, 4: 3}
LABEL_MEANING = "BraTS 2018's 0 background, 1 NCR/NET, 2 ED, 4 ET; value 3 is not used in BraTS 2018"


def modality_file(folder: Path, case: str, suffix: str) -> Path:
    """``<case>_<suffix>.nii.gz``, or the uncompressed ``.nii`` if only that exists."""
    compressed = folder / f"{case}_{suffix}.nii.gz"
    plain = folder / f"{case}_{suffix}.nii"
    return plain if not compressed.is_file() and plain.is_file() else compressed


def patient_of(case: str) -> tuple[str, str]:
    """``Brats18_<institution>_<patient>_<timepoint>`` → (``Brats18_<institution>_<patient>``, institution)."""
    parts = case.split("_")
    if len(parts) >= 4 and parts[-1].isdigit():
        return "_".join(parts[:-1]), parts[1]
    return case, ""


class BratsAdapter(DatasetAdapter):
    """Discovers and converts BraTS 2018 case folders. Channels: 0 T1, 1 T1ce, 2 T2, 3 FLAIR."""

    def discover(self, raw: Path) -> list[RawSubject]:
        cases: dict[str, RawSubject] = {}
        for t1 in sorted([*raw.rglob("*_t1.nii.gz"), *raw.rglob("*_t1.nii")]):
            case = t1.name.removesuffix(".gz").removesuffix(".nii").removesuffix("_t1")
            if case in cases:
                if cases[case].files[0].parent == t1.parent:
                    continue  # both .nii and .nii.gz: modality_file prefers .nii.gz
                raise InputDataError(f"{t1.parent}: case '{case}' is also in {cases[case].files[0].parent}")
            grade = t1.parent.parent.name if t1.parent.parent.name in GRADES else ""
            files = tuple(modality_file(t1.parent, case, s) for s in (*CHANNEL_SUFFIXES, SEG_SUFFIX))
            cases[case] = RawSubject(case, files, {"grade": grade})
        return list(cases.values())

    def convert_subject(self, raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
        *channel_paths, seg_path = subject.files
        reference = channel_paths[0]
        channels: list[ScalarImage] = []
        geometry = None
        shape: tuple[int, ...] = ()
        for path in channel_paths:
            image = volumes.read_volume(path)
            array = volumes.volume_array(image, path)
            if geometry is None:
                geometry, shape = volumes.spatial_geometry(image), array.shape
            else:
                volumes.check_same_grid(reference, shape, geometry, path, array.shape, volumes.spatial_geometry(image))
            channels.append(ScalarImage(array, geometry))
        assert geometry is not None
        label = None
        if seg_path.is_file():
            seg = volumes.read_volume(seg_path)
            seg_array = volumes.volume_array(seg, seg_path)
            volumes.check_same_grid(reference, shape, geometry, seg_path, seg_array.shape, volumes.spatial_geometry(seg))
            label = LabelMap(volumes.map_labels(seg_array, LABEL_MAP, seg_path, LABEL_MEANING), geometry)
        patient, institution = patient_of(subject.subject)
        grade = str(subject.extra.get("grade", ""))
        present = [p for p in subject.files if p.is_file()]
        record = CaseRecord(
            case=subject.subject,
            subject=subject.subject,
            n_slices=int(shape[0]),
            spacing_x_mm=geometry.spacing_mm[0],
            spacing_y_mm=geometry.spacing_mm[1],
            spacing_z_mm=geometry.spacing_mm[2],
            has_label=label is not None,
            group=patient,
            site=institution,
            source_files=";".join(p.relative_to(raw).as_posix() for p in present),
        )
        write_case_files(out, record, channels, label, max_label=3)
        return SubjectResult(records=[record], subject_rows=[{"subject": subject.subject, "patient": patient, "grade": grade}])
