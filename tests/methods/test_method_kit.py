"""The method kit (methods/_kit/segarena_kit): shipped with the code of a `kit: true` method, hashed with it,
refused when a card uses it without saying so, and its command line's behaviour (exit codes, messages)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from harness.containers.build import make_context
from harness.errors import ConfigError
from harness.executors.isolation import make_private_view
from harness.methods import MethodCard, MethodRegistry
from harness.methods import card as card_module
from harness.settings import repo_root

KIT = repo_root() / "methods" / "_kit" / "segarena_kit"
KIT_USERS = ["fcn", "nnunet", "pyramid2d", "segresnet", "ukbb_fcn", "unet2d", "vnet"]


def _method(folder: Path, *, kit: bool, main: str) -> MethodCard:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "method.yaml").write_text(f"name: {folder.name}\ntitle: t\nkit: {str(kit).lower()}\n")
    (folder / "main.py").write_text(main)
    return MethodCard.load(folder / "method.yaml")


@pytest.fixture()
def kit_copy(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the kit, standing in for methods/_kit/segarena_kit (so the test may change it)."""
    copy = tmp_path / "kit" / "segarena_kit"
    copy.parent.mkdir()
    subprocess.run(["cp", "-r", str(KIT), str(copy)], check=True)
    monkeypatch.setattr(card_module, "kit_folder", lambda: copy)
    return copy


def test_the_in_repo_users_of_the_kit_say_so_and_no_other_method_gets_it() -> None:
    registry = MethodRegistry()
    users = sorted(name for name in registry.names() if registry.card(name).kit)
    assert users == KIT_USERS
    for name in registry.names():
        shipped = registry.card(name).code_files()
        assert any(path.startswith("segarena_kit/") for path in shipped) == (name in KIT_USERS), name
        assert not any(path.endswith(".pyc") or "__pycache__" in path for path in shipped)


def test_a_kit_method_ships_and_hashes_the_kit(tmp_path: Path, kit_copy: Path) -> None:
    card = _method(tmp_path / "methods" / "toy", kit=True, main="import segarena_kit\n")
    files = card.code_files()
    assert "main.py" in files and files["segarena_kit/cli.py"] == kit_copy / "cli.py"
    before = card.code_hash()
    (kit_copy / "cli.py").write_text((kit_copy / "cli.py").read_text() + "\n# changed\n")
    assert card.code_hash() != before  # a changed kit rebuilds the image and reruns the jobs
    context = make_context(card, tmp_path / "context", None)
    assert (context / "segarena_kit" / "cli.py").read_text() == (kit_copy / "cli.py").read_text()
    view = make_private_view({"code": card.code_files()}, tmp_path / "view")
    try:
        assert (view.paths["code"] / "segarena_kit" / "__init__.py").is_file()
        assert set(view.hashes["code"]) == set(files)  # the job's copy is what was hashed
        assert view.changed_inputs() == []
    finally:
        view.remove()


def test_a_method_that_imports_the_kit_without_saying_so_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"main.py imports segarena_kit .*does not say `kit: true`"):
        _method(tmp_path / "methods" / "toy", kit=False, main="from segarena_kit import run_method\n")
    folder = tmp_path / "methods" / "own"
    (folder / "segarena_kit").mkdir(parents=True)
    with pytest.raises(ConfigError, match="holds its own segarena_kit"):
        _method(folder, kit=True, main="import segarena_kit\n")


def test_a_missing_kit_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    card = _method(tmp_path / "methods" / "toy", kit=True, main="import segarena_kit\n")
    monkeypatch.setattr(card_module, "kit_folder", lambda: tmp_path / "nowhere" / "segarena_kit")
    with pytest.raises(ConfigError, match="says `kit: true`, but the method kit is missing"):
        card.code_files()


MAIN = '''
import sys
sys.path.insert(0, {kit!r})
from segarena_kit import MethodError, run_method

def train(args, device):
    print("train", args.data.name, device is None)
    if args.data.name == "bad":
        raise MethodError("no images in --data bad")
    if args.data.name == "crash":
        raise RuntimeError("boom")

def hello(args, device):
    print("hello", args.who, device is None)

def extra(sub):
    sub.add_parser("hello").add_argument("--who", required=True)

sys.exit(run_method("toy", {{"train": train, "predict": train, "hello": hello}}, add_commands=extra,
                    without_torch=("train", "hello")))
'''


def test_run_method_exit_codes_messages_and_own_commands(tmp_path: Path) -> None:
    main = tmp_path / "main.py"
    main.write_text(MAIN.format(kit=str(KIT.parent)))

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(main), *args], capture_output=True, text=True, env={"PATH": "/usr/bin"})

    done = run("train", "--data", "good", "--out", str(tmp_path / "m"))
    assert done.returncode == 0 and done.stdout.strip() == "train good True", done.stderr
    bad = run("train", "--data", "bad", "--out", str(tmp_path / "m"))
    assert bad.returncode == 2 and bad.stderr.strip() == "toy train: error: no images in --data bad"
    crash = run("train", "--data", "crash", "--out", str(tmp_path / "m"))
    assert crash.returncode == 1 and "RuntimeError: boom" in crash.stderr  # a bug keeps its traceback
    assert run("hello", "--who", "x").stdout.strip() == "hello x True"
    usage = run("predict", "--images", "i")  # --model and --out are required by the contract
    assert usage.returncode == 2 and "--model" in usage.stderr


def _kit_module(name: str):  # noqa: ANN202
    from tests.support.method_code import import_method_module

    return import_method_module(repo_root() / "methods" / "fcn", f"segarena_kit.{name}")


def test_common_format_readers_name_the_file_and_what_is_wrong(tmp_path: Path) -> None:
    import json

    import numpy as np

    cf, errors = _kit_module("common_format"), _kit_module("errors")
    (tmp_path / "dataset.json").write_text(json.dumps({"file_ending": ".nii.gz", "labels": {"background": 0, "LV": 2},
                                                       "channel_names": {"0": "T1", "1": "T2"}}))
    assert cf.read_dataset_json(tmp_path)["file_ending"] == ".nii.gz"
    with pytest.raises(errors.MethodError, match=r"dataset.json: 2 channel\(s\) .*; fcn reads 1 \(grey\)"):
        cf.read_dataset_json(tmp_path, method="fcn", channels=1, why="grey")
    (tmp_path / "dataset.json").write_text(json.dumps({"labels": {}}))
    with pytest.raises(errors.MethodError, match="no 'file_ending'"):
        cf.read_dataset_json(tmp_path)
    assert cf.label_values({"LV": 2, "background": 0}) == (["background", "LV"], [0, 2])
    assert cf.to_classes(np.array([[0, 2], [2, 0]]), [0, 2], "c").tolist() == [[0, 1], [1, 0]]
    with pytest.raises(errors.MethodError, match=r"case c: label values \[3\]"):
        cf.to_classes(np.array([0, 3]), [0, 2], "case c")
    for name in ("a_0000.nii.gz", "a_0001.nii.gz", "b_0000.nii.gz", "a.nii.gz"):
        (tmp_path / name).touch()
    assert cf.list_cases(tmp_path, ".nii.gz") == ["a", "b"]


def test_init_json_library_weights_or_a_method_specific_refusal(tmp_path: Path) -> None:
    import json

    cf, errors = _kit_module("common_format"), _kit_module("errors")
    with pytest.raises(errors.MethodError, match="no init.json"):
        cf.read_init_json(tmp_path)
    (tmp_path / "init.json").write_text(json.dumps({"kind": "imagenet"}))
    assert cf.read_init_json(tmp_path) == ("imagenet", None)
    with pytest.raises(errors.MethodError, match="init.json: convert the checkpoint first"):
        cf.read_init_json(tmp_path, without_file="convert the checkpoint first")
    (tmp_path / "init.json").write_text(json.dumps({"kind": "finetune", "file": "w.pt"}))
    with pytest.raises(errors.MethodError, match="weights file 'w.pt' is not in"):
        cf.read_init_json(tmp_path)
    (tmp_path / "w.pt").write_bytes(b"x")
    assert cf.read_init_json(tmp_path) == ("finetune", tmp_path / "w.pt")
    (tmp_path / "init.json").write_text(json.dumps({"kind": "warm"}))
    with pytest.raises(errors.MethodError, match="got {'kind': 'warm'}; expected"):
        cf.read_init_json(tmp_path)
