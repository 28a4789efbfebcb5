"""The method card: ``methods/<name>/method.yaml``."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.config.errors import format_validation_error
from harness.config.models import Name
from harness.config.params import ParamSpec, check_values, resolve_values
from harness.errors import ConfigError
from harness.settings import repo_root

__all__ = ["KIT_PACKAGE", "MethodCard", "ParamSpec", "Resources", "VerifySettings", "kit_folder", "stage_code"]

#: The method kit's import package (methods/_kit/README.md), shipped beside the entry of a card with ``kit: true``.
KIT_PACKAGE = "segarena_kit"
_NOT_CODE = {"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git"}


def kit_folder() -> Path:
    return repo_root() / "methods" / "_kit" / KIT_PACKAGE


def _files_below(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix != ".pyc"
                  and not any(part in _NOT_CODE for part in p.relative_to(folder).parts))


class Resources(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    gpu: int = Field(0, ge=0, description="GPUs the method can use (0 = CPU only); it falls back to the CPU "
                                          "when the executor gives it none")
    cpus: int = Field(1, ge=1, description="CPU slots a job of this method holds (its torch threads)")
    memory_gb: float = Field(4.0, gt=0)
    time_limit_s: int = Field(3600, gt=0)


class VerifySettings(BaseModel):
    """What ``segarena method verify`` runs: quick params and the synthetic dataset (a ``generated: true`` adapter)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    params: dict[str, Any] = Field(default_factory=dict, description="params overlaid on the defaults for verify "
                                   "(quick settings: a few epochs); --param overrides them")
    dataset: Name = Field("demo_cine", description="dataset adapter that generates the synthetic cases")
    options: dict[str, Any] = Field(default_factory=dict, description="that adapter's options (subjects, frames, ...)")


class MethodCard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    title: str
    citation: str = ""
    entry: str = Field("main.py", description="entry script inside the method folder, run as `<entry> train|predict ...`")
    image: str = Field("", description="container image name (docker executor)")
    dockerfile: str = "Dockerfile"
    dimensionality: Literal["2d", "3d", "2d+3d"] = "2d"
    needs_training: bool = True
    output: Literal["masks", "volumes"] = "masks"
    ed_rule: Literal["largest_lv", "first_frame"] = Field(
        "largest_lv", description="the method's own ED rule (ES is always the smallest LV): largest_lv = the frame with "
        "the largest LV volume, first_frame = frame 0 (ukbb_cardiac); the evaluator uses it for this method's rows when "
        "a benchmark sets clinical.ed_rule: method")
    resources: Resources = Field(default_factory=Resources)
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    verify: VerifySettings = Field(default_factory=VerifySettings)
    kit: bool = Field(False, description="ship SegArena's method kit (methods/_kit: the contract's CLI, logging, "
                                         "threads, device, MethodError) beside the entry script")
    folder: Path | None = Field(None, exclude=True)

    @classmethod
    def load(cls, path: Path) -> MethodCard:
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"{path}: cannot read method card ({err})") from err
        try:
            card = cls.model_validate({**(data or {}), "folder": path.parent})
        except ValidationError as err:
            raise ConfigError(f"{path}: invalid method card\n{format_validation_error(err)}") from err
        problems = card.param_problems(card.verify.params, "verify.params")
        if problems:
            raise ConfigError(f"{path}: invalid method card\n" + "\n".join(problems))
        if not card.kit:
            users = [p for p in _files_below(path.parent) if p.suffix == ".py" and KIT_PACKAGE in p.read_text(errors="replace")]
            if users:
                raise ConfigError(f"{path}: {users[0].relative_to(path.parent)} imports {KIT_PACKAGE} (the method kit), but "
                                  "the card does not say `kit: true`: its image and jobs would not have the package")
        elif (path.parent / KIT_PACKAGE).exists():
            raise ConfigError(f"{path}: the folder holds its own {KIT_PACKAGE}/; with `kit: true` the harness ships the "
                              f"kit there ({kit_folder()}): remove the folder's copy")
        return card

    def param_problems(self, given: Any, where: str) -> list[str]:
        """Every problem of ``given`` (unknown names with did-you-mean, types, bounds, choices), naming ``where``."""
        return check_values(self.params, given, where, f"method '{self.name}'")

    def resolve_params(self, given: dict[str, Any], where: str) -> dict[str, Any]:
        """Defaults overlaid with ``given``; any bad value fails naming ``where`` (all problems in one message)."""
        problems = self.param_problems(given, where)
        if problems:
            raise ConfigError("\n".join(problems))
        return resolve_values(self.params, given)

    def code_files(self) -> dict[str, Path]:
        """The method's code, by its path in the folder a job or an image gets: every file of the method folder
        (no caches) and, with ``kit: true``, the kit's under ``segarena_kit/``. What ships is what is hashed."""
        assert self.folder is not None
        files = {p.relative_to(self.folder).as_posix(): p for p in _files_below(self.folder)}
        if self.kit:
            kit = kit_folder()
            if not kit.is_dir():
                raise ConfigError(f"method '{self.name}' says `kit: true`, but the method kit is missing: {kit}")
            files.update({f"{KIT_PACKAGE}/{p.relative_to(kit).as_posix()}": p for p in _files_below(kit)})
        return dict(sorted(files.items()))

    def code_hash(self) -> str:
        """Hash of the method's code (:meth:`code_files`): code changes, the kit's included, invalidate its jobs."""
        digest = hashlib.sha256()
        for relative, path in self.code_files().items():
            digest.update(relative.encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()


def stage_code(card: MethodCard, target: Path) -> Path:
    """Copy the method's code (:meth:`MethodCard.code_files`) into ``target``: the one place a job's or an
    image's copy of a method is made."""
    for relative, path in card.code_files().items():
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, destination)
    return target
