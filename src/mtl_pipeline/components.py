"""What every pluggable component shares: a name, a one-line description and typed options.

Options arrive from config as the mapping beside ``name`` (``{name: pcgrad, foo: 1}`` gives
``foo=1``). Each component declares them as a pydantic model named ``Options``; unknown
keys and wrong types fail when the run starts, naming the component and the key.
"""

from __future__ import annotations

import difflib
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

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
        try:
            return cls.Options(**(options or {}))
        except ValidationError as exc:
            allowed_names = sorted(cls.Options.model_fields)
            problems = "; ".join(_describe(err, allowed_names) for err in exc.errors())
            allowed = ", ".join(allowed_names) or "none"
            raise ConfigError(
                f"{where}: invalid options for {cls.name!r}: {problems}. Options it accepts: {allowed}."
            ) from None


def _describe(err: Any, allowed: list[str]) -> str:
    """One pydantic error as ``key: problem``, with a "did you mean" for a misspelt option."""
    key = ".".join(str(p) for p in err["loc"]) or "(options)"
    if err["type"] == "extra_forbidden":
        hint = difflib.get_close_matches(str(err["loc"][-1]), allowed, n=1)
        return f"{key}: unknown option" + (f" (did you mean {hint[0]!r}?)" if hint else "")
    message = str(err["msg"]).removeprefix("Value error, ")
    return f"{key}: {message} (got {err.get('input')!r})"
