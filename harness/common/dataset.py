"""Write and read a dataset in the common format (see :mod:`harness.common`)."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from harness.common.images import LabelMap, ScalarImage, read_image, read_label, write_image
from harness.common.records import CaseRecord, ConversionEvent
from harness.errors import InputDataError

FILE_ENDING = ".nii.gz"


def image_file_name(case: str, channel: int) -> str:
    return f"{case}_{channel:04d}{FILE_ENDING}"


def label_file_name(case: str) -> str:
    return f"{case}{FILE_ENDING}"


def scored_cases(cases: Iterable[CaseRecord], groups: Iterable[str] | None = None) -> list[CaseRecord]:
    """The cases that may be scored: primary ones (never an augmentation copy), of ``groups`` when given.

    Every test-case selection goes through here, so a copy such as kaggle_dsb's ``_rot90``
    is never predicted, never scored and never in a subject-level row.
    """
    wanted = set(groups) if groups is not None else None
    return [r for r in cases if r.primary and (wanted is None or (r.group or r.subject) in wanted)]


def write_csv(path: Path, columns: Sequence[str], rows: Iterable[Mapping[str, object]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    with tmp.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(columns), extrasaction="raise")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: ("" if v is None else v) for k, v in row.items()})
    tmp.replace(path)


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle))


class DatasetWriter:
    """Writes cases into a common-format folder, then the tables in :meth:`finalize`.

    ``labels`` maps label names to consecutive integers starting with
    ``background: 0``; ``regions`` (optional) maps region names to the label
    values they unite, declared in ``dataset.json`` as nnU-Net does
    (``"labels": {"WT": [1, 2, 3], ...}, "regions_class_order": [...]``).
    """

    def __init__(
        self,
        root: Path,
        name: str,
        channel_names: Sequence[str],
        labels: Mapping[str, int],
        regions: Mapping[str, Sequence[int]] | None = None,
        description: str = "",
    ) -> None:
        values = sorted(labels.values())
        if values != list(range(len(values))) or labels.get("background") != 0:
            raise ValueError(f"labels must be consecutive from background=0, got {dict(labels)}")
        self.root = root
        self.name = name
        self.channel_names = list(channel_names)
        self.labels = dict(labels)
        self.regions = {k: list(v) for k, v in (regions or {}).items()}
        self.description = description
        self.records: list[CaseRecord] = []
        self.events: list[ConversionEvent] = []
        self.subjects: list[dict[str, object]] = []
        for sub in ("imagesTr", "labelsTr", "imagesTs"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def write_case(
        self, record: CaseRecord, images: Sequence[ScalarImage], label: LabelMap | None
    ) -> CaseRecord:
        """Write one case's channels (and label) and remember its record."""
        if len(images) != len(self.channel_names):
            raise ValueError(
                f"case {record.case}: {len(images)} channels given, dataset has {len(self.channel_names)}"
            )
        write_case_files(self.root, record, images, label, max_label=len(self.labels) - 1)
        self.records.append(record)
        return record

    def add_records(self, records: Iterable[CaseRecord]) -> None:
        """Adopt records of cases written elsewhere (e.g. by worker processes)."""
        self.records.extend(records)

    def log(self, event: ConversionEvent) -> None:
        self.events.append(event)

    def add_subject(self, row: Mapping[str, object]) -> None:
        self.subjects.append(dict(row))

    def finalize(self) -> None:
        """Write dataset.json, cases.csv, subjects.csv and conversion_log.csv."""
        records = sorted(self.records, key=lambda r: r.case)
        labels: dict[str, object] = dict(self.labels)
        meta: dict[str, object] = {
            "name": self.name,
            "description": self.description,
            "channel_names": {str(i): c for i, c in enumerate(self.channel_names)},
            "labels": labels,
            "numTraining": sum(r.has_label for r in records),
            "file_ending": FILE_ENDING,
        }
        if self.regions:
            # nnU-Net region format: every label entry is a list of the integer
            # labels it covers; regions_class_order says which integer each
            # region writes back to when regions are turned into a label map.
            meta["labels"] = {"background": 0, **self.regions}
            meta["regions_class_order"] = list(range(1, len(self.regions) + 1))
            meta["segarena_label_map"] = dict(self.labels)
        (self.root / "dataset.json").write_text(json.dumps(meta, indent=2) + "\n")
        write_csv(self.root / "cases.csv", CaseRecord.columns(), (r.to_row() for r in records))
        subject_columns: list[str] = ["subject"]
        for row in self.subjects:
            subject_columns += [k for k in row if k not in subject_columns]
        write_csv(self.root / "subjects.csv", subject_columns, sorted(self.subjects, key=lambda r: str(r["subject"])))
        write_csv(
            self.root / "conversion_log.csv",
            ConversionEvent.columns(),
            (vars(e) for e in self.events),
        )


def write_case_files(
    root: Path,
    record: CaseRecord,
    images: Sequence[ScalarImage],
    label: LabelMap | None,
    max_label: int | None = None,
) -> None:
    """Write one case's files; usable from worker processes (no shared state)."""
    if (label is not None) != record.has_label:
        raise ValueError(f"case {record.case}: has_label={record.has_label} but label is {label!r}")
    folder = "imagesTr" if record.has_label else "imagesTs"
    for channel, image in enumerate(images):
        write_image(image, root / folder / image_file_name(record.case, channel))
    if label is not None:
        if max_label is not None and int(label.array.max(initial=0)) > max_label:
            raise ValueError(f"case {record.case}: label value {label.array.max()} > {max_label}")
        if not all(image.geometry.matches(label.geometry) for image in images):
            raise ValueError(f"case {record.case}: label geometry differs from the image's")
        write_image(label, root / "labelsTr" / label_file_name(record.case))


@dataclass(frozen=True)
class CommonDataset:
    """Read access to a converted dataset."""

    root: Path
    meta: Mapping[str, object]
    cases: tuple[CaseRecord, ...]
    subjects: tuple[Mapping[str, str], ...]

    @classmethod
    def open(cls, root: Path) -> CommonDataset:
        meta_path = root / "dataset.json"
        if not meta_path.is_file():
            raise InputDataError(
                f"{root}: not a common-format dataset (no dataset.json); convert it first with `segarena convert`"
            )
        try:
            meta = json.loads(meta_path.read_text())
        except json.JSONDecodeError as err:
            raise InputDataError(f"{meta_path}: invalid JSON ({err})") from err
        cases_path = root / "cases.csv"
        if not cases_path.is_file():
            raise InputDataError(f"{root}: cases.csv is missing")
        try:
            cases = tuple(CaseRecord.from_row(row) for row in read_csv(cases_path))
        except (KeyError, ValueError) as err:
            raise InputDataError(f"{cases_path}: bad row ({err})") from err
        subjects_path = root / "subjects.csv"
        subjects = tuple(read_csv(subjects_path)) if subjects_path.is_file() else ()
        return cls(root, meta, cases, subjects)

    @property
    def name(self) -> str:
        return str(self.meta.get("name", self.root.name))

    @property
    def channel_names(self) -> list[str]:
        channels = self.meta.get("channel_names", {})
        assert isinstance(channels, dict)
        return [channels[k] for k in sorted(channels, key=int)]

    @property
    def label_map(self) -> dict[str, int]:
        """Label name → integer, background included."""
        explicit = self.meta.get("segarena_label_map")
        labels = explicit if isinstance(explicit, dict) else self.meta.get("labels", {})
        assert isinstance(labels, dict)
        return {k: int(v) for k, v in labels.items() if isinstance(v, int)}

    @property
    def structures(self) -> dict[str, list[int]]:
        """Structures to evaluate: each foreground label, or the declared regions."""
        labels = self.meta.get("labels", {})
        assert isinstance(labels, dict)
        out: dict[str, list[int]] = {}
        for name, value in labels.items():
            if name == "background":
                continue
            out[name] = [int(v) for v in value] if isinstance(value, list) else [int(value)]
        return out

    def case(self, case_id: str) -> CaseRecord:
        for record in self.cases:
            if record.case == case_id:
                return record
        raise KeyError(case_id)

    def image_paths(self, record: CaseRecord) -> list[Path]:
        folder = "imagesTr" if record.has_label else "imagesTs"
        return [
            self.root / folder / image_file_name(record.case, c) for c in range(len(self.channel_names))
        ]

    def label_path(self, record: CaseRecord) -> Path | None:
        return self.root / "labelsTr" / label_file_name(record.case) if record.has_label else None

    def read_images(self, record: CaseRecord) -> list[ScalarImage]:
        return [read_image(p) for p in self.image_paths(record)]

    def read_label(self, record: CaseRecord) -> LabelMap | None:
        path = self.label_path(record)
        return read_label(path) if path is not None else None
