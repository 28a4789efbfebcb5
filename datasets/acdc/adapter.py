"""Adapter of ACDC: ``patientXXX/{Info.cfg, _4d, _frameYY, _frameYY_gt}`` → one case per ED/ES frame."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.common.images import LabelMap, ScalarImage
from harness.common.records import ConversionEvent
from harness.datasets.adapter import DatasetAdapter, RawSubject, SubjectResult
from harness.errors import InputDataError
from segarena_datasets.shared import cine, volumes

#: ACDC's label values → the canonical cardiac map (1 LV, 2 MYO, 3 RV).
ACDC_TO_CANONICAL = {0: 0, 1: 3, 2: 2, 3: 1}
ACDC_MEANING = "ACDC's 0 background, 1 RV, 2 MYO, 3 LV"
REQUIRED_KEYS = ("ED", "ES", "NbFrame")


def read_info(path: Path) -> dict[str, str]:
    """Parse ``Info.cfg``: ``key: value`` lines (a ``[section]`` line, blank lines and ``#`` comments are skipped)."""
    if not path.is_file():
        raise InputDataError(f"{path}: file not found")
    info: dict[str, str] = {}
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        text = line.strip()
        if not text or text.startswith(("#", "[")):
            continue
        key, sep, value = text.partition(":")
        if not sep:
            raise InputDataError(f"{path}: line {number} is not `key: value` ({text!r})")
        info[key.strip()] = value.strip()
    missing = [k for k in REQUIRED_KEYS if k not in info]
    if missing:
        raise InputDataError(f"{path}: missing {', '.join(missing)} (expected keys ED, ES, Group, Height, NbFrame, Weight)")
    return info


def info_int(info: dict[str, str], key: str, path: Path) -> int:
    try:
        value = float(info[key])
    except ValueError as err:
        raise InputDataError(f"{path}: {key} is {info[key]!r}, expected an integer") from err
    if not value.is_integer():
        raise InputDataError(f"{path}: {key} is {info[key]!r}, expected an integer")
    return int(value)


def info_float(info: dict[str, str], key: str) -> float | None:
    try:
        return float(info[key])
    except (KeyError, ValueError):
        return None


class Adapter(DatasetAdapter):
    """Options: ``all_frames`` (bool, default false): also write the 4D's other frames as imagesTs cases."""

    def discover(self, raw: Path) -> list[RawSubject]:
        subjects: dict[str, RawSubject] = {}
        for info_path in sorted(raw.rglob("Info.cfg")):
            folder = info_path.parent
            if folder.name in subjects:
                raise InputDataError(f"{folder}: patient '{folder.name}' is also in {subjects[folder.name].files[0].parent}")
            split = folder.parent.name if folder.parent != raw else ""
            subjects[folder.name] = RawSubject(folder.name, (info_path,), {"split": split})
        return list(subjects.values())

    def convert_subject(self, raw: Path, subject: RawSubject, out: Path) -> SubjectResult:
        (info_path,) = subject.files
        name = subject.subject
        info = read_info(info_path)
        ed, es, n_frames = (info_int(info, k, info_path) for k in REQUIRED_KEYS)
        for key, frame in (("ED", ed), ("ES", es)):
            if not 1 <= frame <= n_frames:
                raise InputDataError(f"{info_path}: {key} is {frame}, outside the frames 1..{n_frames} (NbFrame)")
        if ed == es:
            raise InputDataError(f"{info_path}: ED and ES are the same frame ({ed})")
        result = SubjectResult()
        # read and check everything before writing: a subject that fails leaves no files behind
        cases = [self._labelled_frame(info_path.parent, name, phase, frame) for phase, frame in (("ED", ed), ("ES", es))]
        if self.options.get("all_frames", False):
            cases += self._other_frames(raw, info_path.parent, name, {ed - 1, es - 1}, n_frames, result)
        result.records = [cine.write_frame_case(raw, out, name, case) for case in cases]
        row: dict[str, object] = {
            "subject": name, "pathology": info.get("Group", ""), "height_cm": info_float(info, "Height"),
            "weight_kg": info_float(info, "Weight"), "n_frames": n_frames, "ed_frame": ed - 1, "es_frame": es - 1,
            "split": subject.extra.get("split", ""), **cine.lv_volumes(cases),
        }
        result.subject_rows.append(row)
        return result

    @staticmethod
    def _labelled_frame(folder: Path, name: str, phase: str, frame: int) -> Any:  # cine.FrameCase
        """The ``_frameYY`` image (``frame`` 1-based) and its ``_gt``, if there is one."""
        image_path = folder / f"{name}_frame{frame:02d}.nii.gz"
        gt_path = folder / f"{name}_frame{frame:02d}_gt.nii.gz"
        image = volumes.read_volume(image_path)
        array = volumes.volume_array(image, image_path)
        geometry = volumes.spatial_geometry(image)
        if not gt_path.is_file():
            return cine.FrameCase(phase, frame - 1, ScalarImage(array, geometry), None, (image_path,))
        gt = volumes.read_volume(gt_path)
        gt_array = volumes.volume_array(gt, gt_path)
        volumes.check_same_grid(image_path, array.shape, geometry, gt_path, gt_array.shape, volumes.spatial_geometry(gt))
        label = LabelMap(volumes.map_labels(gt_array, ACDC_TO_CANONICAL, gt_path, ACDC_MEANING), geometry)
        return cine.FrameCase(phase, frame - 1, ScalarImage(array, geometry), label, (image_path, gt_path))

    @staticmethod
    def _other_frames(
        raw: Path, folder: Path, name: str, labelled: set[int], n_frames: int, result: SubjectResult
    ) -> list[Any]:  # cine.FrameCase
        """The 4D's frames other than ``labelled`` (0-based), as unlabelled cases."""
        cine_path = folder / f"{name}_4d.nii.gz"
        image = volumes.read_volume(cine_path)
        frames = volumes.cine_array(image, cine_path)
        geometry = volumes.spatial_geometry(image)
        if frames.shape[0] != n_frames:
            result.events.append(ConversionEvent(
                name, "frame count differs from Info.cfg", f"used the 4D's {frames.shape[0]} frames",
                f"NbFrame is {n_frames}, the 4D has {frames.shape[0]} frames", cine_path.relative_to(raw).as_posix(),
                severity="warning",
            ))
        return [
            cine.FrameCase("", t, ScalarImage(frames[t], geometry), None, (cine_path,))
            for t in range(frames.shape[0]) if t not in labelled
        ]
