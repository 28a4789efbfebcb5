"""Turn pydantic validation errors into messages that name the YAML path."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from pydantic import ValidationError

from harness.errors import ConfigError

#: Starts a model-level error message whose lines each name their own YAML path (one problem a line).
MODEL_PROBLEMS = "benchmark problems:\n"


def yaml_path(loc: Sequence[str | int]) -> str:
    """``('methods', 2, 'params', 'epochs')`` → ``methods[2].params.epochs``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "<top level>"


def format_validation_error(err: ValidationError) -> str:
    lines = []
    for item in err.errors():
        loc = [p for p in item["loc"] if not (isinstance(p, str) and p.startswith("function-"))]
        # Discriminated unions put the tag in the location; it is not a YAML key.
        loc = [p for p in loc if p not in item.get("ctx", {}).get("discriminator", ())]
        value = item.get("input")
        shown = repr(value)
        if len(shown) > 60:
            shown = shown[:57] + "..."
        message = item["msg"]
        if MODEL_PROBLEMS in message:
            lines += [f"  {line}" for line in message.split(MODEL_PROBLEMS, 1)[1].splitlines() if line]
            continue
        message = message.removeprefix("Value error, ")
        if item["type"] == "extra_forbidden":
            message = "unknown field (not allowed here)"
        elif item["type"] == "missing":
            lines.append(f"  {yaml_path(loc)}: required field is missing")
            continue
        lines.append(f"  {yaml_path(loc)}: {message} (got {shown})")
    return "\n".join(lines)


class InvalidBenchmarkError(ConfigError):
    """A benchmark file with one or more problems, each a line naming its YAML path."""

    def __init__(self, path: Path, problems: Sequence[str]) -> None:
        self.path = path
        self.problems = list(dict.fromkeys(p.strip() for p in problems))
        count = f"{len(self.problems)} problem{'s' if len(self.problems) != 1 else ''}"
        super().__init__(f"{path}: invalid benchmark ({count})\n" + "\n".join(f"  {p}" for p in self.problems))
