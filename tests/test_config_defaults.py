"""One source of defaults: every value conf/base sets equals the typed model's default.

``run_training`` called with a partial configuration (tests, benchmarks, notebooks) fills
the rest from the typed defaults; ``kedro run`` fills it from conf/base. When the two
agree, both train the same thing, and conf/base only spells out what the schema already
says. A change to one without the other fails here, naming the key and both values.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel

from mtl_pipeline.config import RunConfig
from tests.conftest import REPO

#: Sections whose values have no schema default (the user's own tasks).
NO_DEFAULT = {"tasks"}


def conf_base_parameters() -> dict[str, Any]:
    params: dict[str, Any] = {}
    for path in sorted((REPO / "conf" / "base").glob("parameters*.yml")):
        params.update(yaml.safe_load(path.read_text()) or {})
    return params


def _submodel(model: type[BaseModel], key: str) -> type[BaseModel] | None:
    annotation = model.model_fields[key].annotation
    return (
        annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None
    )


def disagreements(model: type[BaseModel], data: dict[str, Any], prefix: str = "") -> list[str]:
    """``key: conf/base X, schema default Y`` for every leaf of ``data`` that differs."""
    found = []
    for key, value in data.items():
        where = f"{prefix}{key}"
        if where in NO_DEFAULT:
            continue
        field = model.model_fields.get(key)
        if field is None:
            found.append(f"{where}: in conf/base but not in the schema")
            continue
        sub = _submodel(model, key)
        if sub is not None and isinstance(value, dict) and sub.model_config.get("extra") != "allow":
            found += disagreements(sub, value, f"{where}.")
            continue
        if field.is_required():
            found.append(f"{where}: conf/base sets {value!r}, the schema has no default")
            continue
        default = field.get_default(call_default_factory=True)
        if isinstance(default, BaseModel):
            default = default.model_dump()
            value = sub.model_validate(value).model_dump() if sub is not None else value
        if default != value:
            found.append(f"{where}: conf/base {value!r}, schema default {default!r}")
    return found


def test_conf_base_and_the_typed_defaults_agree():
    problems = disagreements(RunConfig, conf_base_parameters())
    assert not problems, "conf/base and the typed defaults disagree:\n" + "\n".join(problems)


def test_the_comparison_sees_a_difference():
    params = conf_base_parameters()
    params["training"] = {**params["training"], "max_steps": 7}
    params["model"] = {**params["model"], "architecture": {"name": "mmoe"}}
    problems = disagreements(RunConfig, params)
    assert any(p.startswith("training.max_steps: conf/base 7") for p in problems)
    assert any(p.startswith("model.architecture:") for p in problems)
