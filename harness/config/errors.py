"""Turn pydantic validation errors into messages that name the YAML path."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ValidationError


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
        if item["type"] == "extra_forbidden":
            message = "unknown field (not allowed here)"
        elif item["type"] == "missing":
            lines.append(f"  {yaml_path(loc)}: required field is missing")
            continue
        lines.append(f"  {yaml_path(loc)}: {message} (got {shown})")
    return "\n".join(lines)
