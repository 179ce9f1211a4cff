"""Readable configuration errors: a pydantic ``ValidationError`` as one line per problem,
naming the key, what was expected and the closest known key for a typo."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import (
    BaseModel,
    ValidationError,
)

from mtl_pipeline.errors import ConfigError


def _known_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str]:
    """The field names valid at ``loc`` (for "did you mean" suggestions)."""
    current: Any = model
    skip_dict_key = False
    for part in loc[:-1]:
        if skip_dict_key:  # `part` is a key of dict[str, Model], e.g. a task name
            skip_dict_key = False
            continue
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            current = annotation
        elif args and isinstance(args[-1], type) and issubclass(args[-1], BaseModel):
            current, skip_dict_key = args[-1], True
        else:
            return []
    return list(getattr(current, "model_fields", {}))


def format_validation_error(exc: ValidationError, model: type[BaseModel], prefix: str = "") -> str:
    lines = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        key = ".".join(str(p) for p in ((prefix,) if prefix else ()) + loc)
        if err["type"] == "extra_forbidden":
            candidates = _known_keys(model, loc)
            hint = difflib.get_close_matches(str(loc[-1]), candidates, n=1)
            suggestion = f" Did you mean {hint[0]!r}?" if hint else ""
            lines.append(
                f"  {key}: unknown key.{suggestion} Valid keys here: {', '.join(candidates)}"
                if candidates
                else f"  {key}: unknown key."
            )
        elif err["type"] == "missing":
            lines.append(f"  {key}: required key is missing.")
        else:
            message = str(err["msg"]).removeprefix("Value error, ")
            value = err.get("input")
            got = "" if isinstance(value, dict) and value else f" (got {_short_repr(value)})"
            lines.append(f"  {key}: {message}{got}" if key else f"  {message}{got}")
    return "\n".join(lines)


def _short_repr(value: Any, limit: int = 120) -> str:
    """The offending value, cut short: a whole ``tasks`` mapping would bury the message."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_section(model: type[BaseModel], data: Any, prefix: str) -> Any:
    """Validate one section (``params:training`` etc.) into its typed model."""
    try:
        return model.model_validate(data if data is not None else {})
    except ValidationError as exc:
        raise ConfigError(
            f"Invalid parameters:\n{format_validation_error(exc, model, prefix)}"
        ) from None
