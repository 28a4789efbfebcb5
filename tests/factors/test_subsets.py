"""The training-subset factor: n subjects by the seed, named subjects, phases, and confidence sets."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.common.dataset import CommonDataset
from harness.config.models import Confidence, Subset
from harness.errors import InputDataError
from harness.factors.subsets import confident_subjects, select_training_cases
from harness.runner.verify import synthetic_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> CommonDataset:
    return synthetic_dataset(tmp_path_factory.mktemp("subsets"), subjects=5, frames=3)


def truth(dataset: CommonDataset) -> dict[str, tuple[float, float]]:
    return {str(r["subject"]): (float(r["edv_ml"]), float(r["esv_ml"])) for r in dataset.subjects}


def write_reference(path: Path, rows: dict[str, tuple[float, float]]) -> Path:
    path.write_text("subject,edv_ml,esv_ml\n" + "".join(f"{s},{e},{v}\n" for s, (e, v) in rows.items()))
    return path


def all_groups(dataset: CommonDataset) -> list[str]:
    return sorted({r.group or r.subject for r in dataset.cases})


def test_confidence_keeps_subjects_whose_reference_volumes_agree(dataset: CommonDataset, tmp_path: Path) -> None:
    t = truth(dataset)
    subjects = sorted(t)
    edv0, esv0 = t[subjects[0]]
    edv1, esv1 = t[subjects[1]]
    edv2, esv2 = t[subjects[2]]
    reference = write_reference(tmp_path / "ref.csv", {
        subjects[0]: (edv0 * 1.04, esv0 * 0.97),   # 4 % off: kept at 5 %
        subjects[1]: (edv1 * 1.01, esv1 * 1.08),   # ESV 8 % off: kept at 10 %, not at 5 %
        subjects[2]: (edv2 * 0.80, esv2),          # 20 % off: never kept
        # subjects[3:] have no reference volume: never kept
    })
    at = {pct: confident_subjects(dataset, Subset(name="c", confidence=Confidence(reference_volumes=reference,
                                                                                    max_error_pct=pct)))
          for pct in (5, 10, 25)}
    assert at[5] == {subjects[0]}
    assert at[10] == {subjects[0], subjects[1]}
    assert at[25] == {subjects[0], subjects[1], subjects[2]}
    cases = select_training_cases(dataset, all_groups(dataset),
                                  Subset(name="p10", confidence=Confidence(reference_volumes=reference, max_error_pct=10)),
                                  seed=0)
    assert {c.subject for c in cases} == at[10] and len(cases) == 2 * 3


def test_confidence_file_errors_name_the_file(dataset: CommonDataset, tmp_path: Path) -> None:
    bad = tmp_path / "volumes.csv"
    bad.write_text("subject,edv\nx,1\n")
    with pytest.raises(InputDataError, match=r"volumes.csv: missing columns \['edv_ml', 'esv_ml'\]"):
        confident_subjects(dataset, Subset(name="c", confidence=Confidence(reference_volumes=bad, max_error_pct=5)))
    with pytest.raises(InputDataError, match="absent.csv: cannot read reference volumes"):
        confident_subjects(dataset, Subset(name="c", confidence=Confidence(reference_volumes=tmp_path / "absent.csv",
                                                                            max_error_pct=5)))


def test_n_subjects_is_drawn_by_the_seed_and_phases_filter_frames(dataset: CommonDataset) -> None:
    groups = all_groups(dataset)
    draws = {seed: {c.subject for c in select_training_cases(dataset, groups, Subset(name="n2", n_subjects=2), seed)}
             for seed in range(6)}
    assert all(len(d) == 2 for d in draws.values())
    assert draws[0] == {c.subject for c in select_training_cases(dataset, groups, Subset(name="n2", n_subjects=2), 0)}
    assert len({frozenset(d) for d in draws.values()}) > 1  # other seeds, other subjects
    esed = select_training_cases(dataset, groups, Subset(name="esed", phases=["ed", "ES"]), 0)
    assert {c.phase.upper() for c in esed} == {"ED", "ES"} and len(esed) == 5 * 2  # 3 frames: one is neither
    named = select_training_cases(dataset, groups, Subset(name="two", subjects=["demo001", "demo003"]), 0)
    assert {c.subject for c in named} == {"demo001", "demo003"}
    held_out = select_training_cases(dataset, [g for g in groups if g != "demo001"],
                                     Subset(name="two", subjects=["demo001", "demo003"]), 0)
    assert {c.subject for c in held_out} == {"demo003"}  # never a subject outside the fold's training groups
