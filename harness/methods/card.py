"""The method card: ``methods/<name>/method.yaml``."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.config.errors import format_validation_error
from harness.config.models import Name
from harness.config.params import ParamSpec, check_values, resolve_values
from harness.errors import ConfigError

__all__ = ["MethodCard", "ParamSpec", "Resources", "VerifySettings"]


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

    def code_hash(self) -> str:
        """Hash of every file in the method folder: code changes invalidate its jobs."""
        assert self.folder is not None
        digest = hashlib.sha256()
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(self.folder)).encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()
