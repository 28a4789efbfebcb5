"""Build contexts, base substitution, image tags, `method new` and `method verify --executor local` (no engine)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.cli.method import parse_param
from harness.containers.bases import containers_dir, dockerfile_base, load_bases, local_stand_in
from harness.containers.build import make_context, resolve_base
from harness.containers.images import image_reference
from harness.containers.scaffold import scaffold_method
from harness.errors import ConfigError
from harness.executors.local import LocalExecutor
from harness.methods import MethodCard, MethodRegistry
from harness.runner.verify import synthetic_dataset, verify_method


@pytest.fixture()
def toy(tmp_path: Path) -> MethodCard:
    folder = scaffold_method("toy_method", tmp_path / "methods")
    return MethodCard.load(folder / "method.yaml")


def test_context_holds_the_folder_and_the_wheelhouse(toy: MethodCard, tmp_path: Path) -> None:
    assert toy.folder is not None
    (toy.folder / "__pycache__").mkdir()
    (toy.folder / "__pycache__" / "main.cpython-311.pyc").write_bytes(b"x")
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    (wheels / "numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl").write_bytes(b"wheel")
    context = make_context(toy, tmp_path / "context", wheels)
    names = sorted(p.relative_to(context).as_posix() for p in context.rglob("*") if p.is_file())
    assert names == ["Dockerfile", "README.md", "main.py", "method.yaml", "requirements.txt", "test_method.py",
                     "wheelhouse/README", "wheelhouse/numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl"]
    wheel = context / "wheelhouse" / "numpy-2.4.6-cp311-cp311-manylinux_2_28_x86_64.whl"
    assert os.stat(wheel).st_ino == os.stat(wheels / wheel.name).st_ino  # hard link, no copy


def test_context_without_wheelhouse_and_bad_wheelhouse(toy: MethodCard, tmp_path: Path) -> None:
    context = make_context(toy, tmp_path / "online", None)
    assert [p.name for p in (context / "wheelhouse").iterdir()] == ["README"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no .whl"):
        make_context(toy, tmp_path / "offline", tmp_path / "empty")


@pytest.mark.parametrize(("method", "local"), [("threshold_baseline", "segarena/base-python:local"),
                                               ("unet2d", "segarena/base-torch-cpu:local"),
                                               ("nnunet", "segarena/base-torch-cpu:local")])
def test_in_repo_dockerfiles_pin_an_official_base_with_a_local_stand_in(method: str, local: str) -> None:
    card = MethodRegistry().card(method)
    assert card.folder is not None
    official = dockerfile_base(card.folder / card.dockerfile)
    assert "@sha256:" in official
    assert resolve_base(card, "official") == (official, None)
    assert resolve_base(card, "local")[0] == local


@pytest.mark.parametrize("method", ["vnet", "segresnet"])
def test_monai_methods_build_on_the_shared_derived_base_in_both_modes(method: str) -> None:
    """vnet and segresnet name the torch-monai base, which SegArena builds itself on either torch base."""
    card = MethodRegistry().card(method)
    bases = load_bases()
    torch, monai = bases["torch"], bases["torch-monai"]
    assert monai.parent == "torch" and "@sha256:" in torch.official
    assert dockerfile_base(card.folder / card.dockerfile) == monai.official  # type: ignore[operator]
    image, build = resolve_base(card, "official", online=True)
    assert image == monai.official and build is not None
    assert build.arguments == ("torch-monai", "--from", torch.official, "--tag", monai.official, "--online")
    image, build = resolve_base(card, "local")
    assert image == monai.local and build is not None
    assert build.arguments == ("torch-monai", "--from", torch.local, "--tag", monai.local)
    # The image installs nothing of its own: each package main.py imports is pinned in the base's recipe.
    pinned = {line.split("==")[0].lower() for line in
              (containers_dir() / "base" / "torch-monai" / "requirements.txt").read_text().splitlines()
              if line.strip() and not line.startswith("#")}
    assert {"monai", "simpleitk"} <= pinned
    assert "pip install" not in (card.folder / card.dockerfile).read_text()  # type: ignore[operator]


def test_a_derived_base_must_sit_on_a_base_with_an_official_image(tmp_path: Path) -> None:
    listing = tmp_path / "bases.yaml"
    listing.write_text("bases:\n  a:\n    official: x/a@sha256:" + "0" * 64 + "\n    local: a:local\n    build: a\n"
                       "  b:\n    from: c\n    official: b:official\n    local: b:local\n    build: b\n")
    with pytest.raises(ConfigError, match="base `b` is built on `c`"):
        load_bases(listing)


def test_a_base_that_cannot_be_pulled_says_to_build_locally(monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    from harness.containers import bases as bases_module
    from harness.errors import JobFailedError

    def failing(command: list[str], **_: object) -> subprocess.CompletedProcess[str]:
        return subprocess.CompletedProcess(command, 1, "Step 2/9 : FROM ${BASE_IMAGE} AS install\n",
                                           'Get "https://registry-1.docker.io/v2/": dial tcp: no such host\n')

    monkeypatch.setattr(bases_module.subprocess, "run", failing)
    build = bases_module.base_build(load_bases()["torch-monai"].official, "official", load_bases(), online=True)
    assert build is not None
    with pytest.raises(JobFailedError, match=r"(?s)segarena/base-torch-monai:official failed.*dial tcp.*--base local"):
        bases_module.ensure_base(build)


def test_unknown_base_and_missing_arg(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no local stand-in"):
        local_stand_in("nvidia/cuda:12.0-base@sha256:" + "0" * 64, load_bases())
    dockerfile = tmp_path / "Dockerfile"
    dockerfile.write_text("FROM python:3.11\n")
    with pytest.raises(ConfigError, match="ARG BASE_IMAGE"):
        dockerfile_base(dockerfile)


def test_image_tag_follows_the_method_folder(toy: MethodCard) -> None:
    assert toy.folder is not None
    before = image_reference(toy)
    assert before.startswith("segarena/toy-method:") and len(before.rsplit(":", 1)[1]) == 12
    (toy.folder / "main.py").write_text((toy.folder / "main.py").read_text() + "\n# changed\n")
    assert image_reference(toy) != before
    pinned = toy.model_copy(update={"image": "registry.example/toy@sha256:" + "1" * 64})
    assert image_reference(pinned) == pinned.image


def test_scaffold_refuses_bad_names_and_overwrites(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lower-case"):
        scaffold_method("Bad-Name", tmp_path)
    scaffold_method("fine", tmp_path)
    with pytest.raises(ConfigError, match="already exists"):
        scaffold_method("fine", tmp_path)


def test_scaffolded_method_verifies_locally(toy: MethodCard, tmp_path: Path) -> None:
    dataset = synthetic_dataset(tmp_path / "synthetic", subjects=2, frames=2)
    report = verify_method(toy, LocalExecutor(threads=1), tmp_path / "work", toy.resolve_params({}, "p"), dataset)
    assert report.ok, report.steps
    assert [s.name for s in report.steps] == ["train", "predict", "contract"]


def test_verify_reports_contract_violations(toy: MethodCard, tmp_path: Path) -> None:
    assert toy.folder is not None
    main = toy.folder / "main.py"
    main.write_text(main.read_text().replace("np.zeros(sitk.GetArrayFromImage(image).shape, np.uint8)",
                                             "np.full(sitk.GetArrayFromImage(image).shape, 9, np.uint8)"))
    dataset = synthetic_dataset(tmp_path / "synthetic", subjects=2, frames=2)
    report = verify_method(toy, LocalExecutor(threads=1), tmp_path / "work", {}, dataset)
    assert not report.ok
    assert report.violations and all("not in the label map" in str(v) for v in report.violations)


def test_parse_param_types_values_by_the_card() -> None:
    card = MethodRegistry().card("unet2d")
    assert parse_param("epochs=1", card) == ("epochs", 1)
    assert parse_param("learning_rate=0.01", card) == ("learning_rate", 0.01)
    assert parse_param("encoder=vgg16", card) == ("encoder", "vgg16")
    with pytest.raises(ConfigError, match="expected int"):
        parse_param("epochs=many", card)
    with pytest.raises(ConfigError, match="NAME=VALUE"):
        parse_param("epochs", card)


def test_build_failures_say_what_to_do(tmp_path: Path) -> None:
    from harness.containers.build import _hint

    unpulled = _hint("pull access denied for pytorch/pytorch, repository does not exist", False, "pytorch/pytorch:x", None)
    assert "--base local" in unpulled and "pytorch/pytorch:x" in unpulled
    index = _hint("Could not fetch URL https://pypi.org/simple/numpy/\nERROR: No matching distribution found for numpy",
                  True, "segarena/base-python:local", None)
    assert "--wheelhouse DIR" in index and "containers/wheelhouse.sh" in index
    offline = _hint("ERROR: No matching distribution found for timm==1.0.22", True, "b", tmp_path)
    assert f"the wheelhouse {tmp_path} may lack a wheel" in offline
    assert _hint("COPY failed: no source files", True, "b", None) == ""
