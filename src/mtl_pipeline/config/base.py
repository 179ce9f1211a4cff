"""Shared pieces of the typed configuration: strict models and component specs."""

from __future__ import annotations

import re
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    model_validator,
)

TASK_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
DEVICE_PATTERN = re.compile(r"^(auto|cpu|mps|cuda(:\d+)?)$")


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)


class ComponentSpec(BaseModel):
    """``{name: <component>, **options}``; a bare string is shorthand for ``{name: ...}``."""

    model_config = ConfigDict(extra="allow")

    name: str = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @property
    def options(self) -> dict[str, Any]:
        return dict(self.model_extra or {})
