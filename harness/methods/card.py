"""The method card: ``methods/<name>/method.yaml``."""

from __future__ import annotations

import difflib
import hashlib
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from harness.config.errors import format_validation_error
from harness.errors import ConfigError

_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,),
                                       "list": (list,), "dict": (dict,)}


class ParamSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["int", "float", "str", "bool", "list", "dict"]
    default: Any = None
    choices: list[Any] | None = None
    help: str = ""


class Resources(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    gpu: int = Field(0, ge=0, description="GPUs the method can use (0 = CPU only)")
    memory_gb: float = Field(4.0, gt=0)
    time_limit_s: int = Field(3600, gt=0)


class MethodCard(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    title: str
    citation: str = ""
    entry: str = Field("main.py", description="entry script inside the method folder, run as `<entry> train|predict ...`")
    image: str = Field("", description="container image name (docker executor)")
    dockerfile: str = "Dockerfile"
    dimensionality: Literal["2d", "3d", "2d+3d"] = "2d"
    needs_training: bool = True
    output: Literal["masks", "volumes"] = "masks"
    resources: Resources = Field(default_factory=Resources)
    params: dict[str, ParamSpec] = Field(default_factory=dict)
    folder: Path | None = Field(None, exclude=True)

    @classmethod
    def load(cls, path: Path) -> MethodCard:
        try:
            data = yaml.safe_load(path.read_text())
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(f"{path}: cannot read method card ({err})") from err
        try:
            return cls.model_validate({**(data or {}), "folder": path.parent})
        except ValidationError as err:
            raise ConfigError(f"{path}: invalid method card\n{format_validation_error(err)}") from err

    def resolve_params(self, given: dict[str, Any], where: str) -> dict[str, Any]:
        """Defaults overlaid with ``given``; unknown names and wrong types fail naming ``where``."""
        resolved = {name: spec.default for name, spec in self.params.items()}
        for name, value in given.items():
            if name not in self.params:
                close = difflib.get_close_matches(name, list(self.params), n=1)
                hint = f" Did you mean '{close[0]}'?" if close else ""
                raise ConfigError(
                    f"{where}.{name}: method '{self.name}' has no parameter '{name}'.{hint} "
                    f"Parameters: {', '.join(sorted(self.params)) or '(none)'}"
                )
            spec = self.params[name]
            if isinstance(value, bool) and spec.type in ("int", "float") or not isinstance(value, _TYPES[spec.type]):
                raise ConfigError(f"{where}.{name}: expected {spec.type}, got {value!r}")
            if spec.choices is not None and value not in spec.choices:
                raise ConfigError(f"{where}.{name}: {value!r} is not one of {spec.choices}")
            resolved[name] = float(value) if spec.type == "float" and isinstance(value, (int, float)) else value
        return resolved

    def code_hash(self) -> str:
        """Hash of every file in the method folder: code changes invalidate its jobs."""
        assert self.folder is not None
        digest = hashlib.sha256()
        for path in sorted(p for p in self.folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(self.folder)).encode())
            digest.update(path.read_bytes())
        return digest.hexdigest()
