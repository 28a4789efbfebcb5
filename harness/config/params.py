"""Declared parameters: the one spec (type, default, bounds, choices) and the one checker.

Method cards declare ``params`` and dataset cards declare ``options`` with :class:`ParamSpec`;
:func:`check_values` checks a benchmark entry's values against them and returns every problem,
each naming its YAML path, so ``segarena validate`` can list them all at once.
"""

from __future__ import annotations

import difflib
import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, model_validator

_TYPES: dict[str, tuple[type, ...]] = {"int": (int,), "float": (int, float), "str": (str,), "bool": (bool,),
                                       "list": (list,), "dict": (dict,)}


class ParamSpec(BaseModel):
    """One declared parameter: type, default, optional ``min`` / ``max`` (inclusive), ``choices``, ``pattern`` (str)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: Literal["int", "float", "str", "bool", "list", "dict"]
    default: Any = None
    choices: list[Any] | None = None
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    help: str = ""

    @model_validator(mode="after")
    def _bounds_fit_the_type(self) -> ParamSpec:
        if (self.min is not None or self.max is not None) and self.type not in ("int", "float"):
            raise ValueError(f"min/max are only for int and float parameters, not {self.type}")
        if self.pattern is not None and self.type != "str":
            raise ValueError(f"pattern is only for str parameters, not {self.type}")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        if self.default is not None and (problem := self.problem(self.default)) is not None:
            raise ValueError(f"default {self.default!r}: {problem}")
        return self

    def problem(self, value: Any) -> str | None:
        """Why ``value`` does not fit this spec, or None when it does."""
        if isinstance(value, bool) and self.type in ("int", "float") or not isinstance(value, _TYPES[self.type]):
            return f"expected {self.type}, got {value!r}"
        if self.choices is not None and value not in self.choices:
            return f"{value!r} is not one of {self.choices}"
        if isinstance(value, (int, float)):
            if self.min is not None and value < self.min:
                return f"{value!r} is below the minimum {_number(self.min)}"
            if self.max is not None and value > self.max:
                return f"{value!r} is above the maximum {_number(self.max)}"
        if isinstance(value, str) and self.pattern is not None and re.fullmatch(self.pattern, value) is None:
            return f"{value!r} does not match {self.pattern}"
        return None


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def check_values(specs: dict[str, ParamSpec], given: Any, where: str, owner: str,
                 noun: str = "parameter") -> list[str]:
    """Every problem of ``given`` against ``specs``: unknown names (with did-you-mean), types, bounds, choices."""
    if not isinstance(given, dict):
        return [f"{where}: expected a mapping of {noun}s, got {given!r}"]
    problems = []
    for name, value in given.items():
        if name not in specs:
            close = difflib.get_close_matches(str(name), list(specs), n=1)
            hint = f" Did you mean '{close[0]}'?" if close else ""
            problems.append(f"{where}.{name}: {owner} has no {noun} '{name}'.{hint} "
                            f"{noun.capitalize()}s: {', '.join(sorted(specs)) or '(none)'}")
        elif (problem := specs[name].problem(value)) is not None:
            problems.append(f"{where}.{name}: {problem}")
    return problems


def resolve_values(specs: dict[str, ParamSpec], given: dict[str, Any]) -> dict[str, Any]:
    """Defaults overlaid with ``given`` (already checked); ints given for floats become floats."""
    resolved = {name: spec.default for name, spec in specs.items()}
    for name, value in given.items():
        resolved[name] = float(value) if specs[name].type == "float" else value
    return resolved
