"""What every pluggable component shares: a name, a one-line description and typed options.

Options arrive from config as the mapping beside ``name`` (``{name: pcgrad, foo: 1}`` gives
``foo=1``). Each component declares them as a pydantic model named ``Options``; unknown
keys and wrong types fail when the run starts, naming the component and the key.

Unknown keys are refused here, against the model's declared fields, whatever the model's
own ``extra`` setting: a plugin author who forgets ``extra="forbid"`` must not leave users
with a misspelt option that is silently ignored. The registry refuses a component that
overrides ``parse_options``, so this is the one path every component's options take.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from typing import Any, ClassVar

from pydantic import AliasChoices, BaseModel, ConfigDict, ValidationError

from mtl_pipeline.errors import ConfigError


class NoOptions(BaseModel):
    """Options model of a component that takes none."""

    model_config = ConfigDict(extra="forbid")


class Component:
    """Mixin for registrable classes: subclasses set ``name`` and ``description``."""

    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    Options: ClassVar[type[BaseModel]] = NoOptions

    @classmethod
    def parse_options(cls, options: dict[str, Any] | None, where: str) -> BaseModel:
        """Validate raw options; ``where`` names the config key for the error message."""
        options = dict(options or {})
        unknown = unknown_options(cls.Options, options)
        if unknown:
            problems = "; ".join(
                f"{key}: unknown option" + (f" (did you mean {hint[0]!r}?)" if hint else "")
                for key, allowed_here in unknown
                for hint in [difflib.get_close_matches(key.rsplit(".", 1)[-1], allowed_here, n=1)]
            )
            allowed = ", ".join(sorted(cls.Options.model_fields)) or "none"
            raise ConfigError(
                f"{where}: invalid options for {cls.name!r}: {problems}. Options it accepts: {allowed}."
            )
        try:
            return cls.Options(**options)
        except ValidationError as exc:
            allowed_names = sorted(cls.Options.model_fields)
            problems = "; ".join(_describe(err, allowed_names) for err in exc.errors())
            allowed = ", ".join(allowed_names) or "none"
            raise ConfigError(
                f"{where}: invalid options for {cls.name!r}: {problems}. Options it accepts: {allowed}."
            ) from None


def _accepted_keys(model: type[BaseModel]) -> dict[str, str]:
    """Every key ``model`` accepts (field names and their string aliases) -> field name."""
    keys: dict[str, str] = {}
    for field_name, field in model.model_fields.items():
        keys[field_name] = field_name
        for alias in (field.alias, field.validation_alias):
            if isinstance(alias, str):
                keys[alias] = field_name
            elif isinstance(alias, AliasChoices):
                keys.update({c: field_name for c in alias.choices if isinstance(c, str)})
    return keys


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model an annotation holds (``Model`` or ``Model | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        models = [a for a in typing.get_args(annotation) if _nested_model(a) is not None]
        return _nested_model(models[0]) if len(models) == 1 else None
    return None


def unknown_options(
    model: type[BaseModel], options: Mapping[Any, Any], prefix: str = ""
) -> list[tuple[str, list[str]]]:
    """``(dotted key, field names accepted at that level)`` for each key of ``options`` (and
    of nested option models' mappings) that ``model`` does not declare."""
    accepted = _accepted_keys(model)
    found: list[tuple[str, list[str]]] = []
    for key, value in options.items():
        field_name = accepted.get(str(key))
        if field_name is None:
            found.append((f"{prefix}{key}", sorted(model.model_fields)))
            continue
        nested = _nested_model(model.model_fields[field_name].annotation)
        if nested is not None and isinstance(value, Mapping):
            found.extend(unknown_options(nested, value, f"{prefix}{key}."))
    return found


def _describe(err: Any, allowed: list[str]) -> str:
    """One pydantic error as ``key: problem``, with a "did you mean" for a misspelt option."""
    key = ".".join(str(p) for p in err["loc"]) or "(options)"
    if err["type"] == "extra_forbidden":
        hint = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
        return f"{key}: unknown option" + (f" (did you mean {hint[0]!r}?)" if hint else "")
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{key}: {message} (got {err.get('input')!r})"
