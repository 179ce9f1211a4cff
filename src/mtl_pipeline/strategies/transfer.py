"""Moving weights from one trained architecture into a freshly built one.

STILTs carries the encoder of the intermediate model into the target model and drops the
intermediate task's head; MT-DNN's fine-tuning carries the encoder *and* the fine-tuned
task's own head out of the multi-task model. Both are the same operation: copy every tensor
that is not some task's own, plus the own tensors of ``keep_tasks``. What belongs to a task
is what the architecture says (``task_parameters``), so this works for any architecture
whose shared part does not depend on which tasks it was built for (hard sharing, MMoE,
adapters); one whose shared tensors are shaped by the task set (cross-stitch units) is
refused with a ``ConfigError`` instead of being half-copied.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from mtl_pipeline.errors import ConfigError


@dataclass
class TransferReport:
    """What ``carry_over`` did, by state-dict key (kept in the strategy's history)."""

    carried: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)  # in the source, not copied (its heads)
    fresh: list[str] = field(default_factory=list)  # in the target, left as initialized

    def as_dict(self) -> dict[str, Any]:
        return {"carried": len(self.carried), "dropped": self.dropped, "fresh": self.fresh}


def own_parameter_names(architecture: Any, tasks: Iterable[str]) -> set[str]:
    """State-dict names of the parameters that belong to ``tasks`` (heads and the like)."""
    ids = {id(p) for task in tasks for p in architecture.task_parameters(task)}
    return {name for name, p in architecture.named_parameters() if id(p) in ids}


def carry_over(source: Any, target: Any, keep_tasks: Iterable[str] = ()) -> TransferReport:
    """Copy ``source``'s shared tensors (and ``keep_tasks``' own ones) into ``target``.

    Every other task's own tensors in ``source`` are dropped; every tensor of ``target``
    that is not a task's own must be covered, else nothing is copied and a ``ConfigError``
    says which (so a "transfer" never silently leaves a freshly initialized encoder).
    """
    keep = list(keep_tasks)
    source_state = source.state_dict()
    target_state = target.state_dict()
    source_own = own_parameter_names(source, source.task_specs) - own_parameter_names(source, keep)
    may_stay_fresh = own_parameter_names(target, [t for t in target.task_specs if t not in keep])
    carried = {
        key: value
        for key, value in source_state.items()
        if key not in source_own and key in target_state and target_state[key].shape == value.shape
    }
    uncovered = sorted(k for k in target_state if k not in carried and k not in may_stay_fresh)
    if uncovered:
        shown = ", ".join(uncovered[:5]) + (
            f" and {len(uncovered) - 5} more" if len(uncovered) > 5 else ""
        )
        raise ConfigError(
            f"model.architecture: cannot carry the trained weights of {type(source).__name__} "
            f"over to a model for {', '.join(target.task_specs)}: {shown} have no counterpart "
            "of the same shape (the architecture's shared part depends on its task set). "
            "Transfer strategies need an architecture whose shared part does not, e.g. "
            "hard_sharing."
        )
    target.load_state_dict(carried, strict=False)
    return TransferReport(
        carried=sorted(carried),
        dropped=sorted(k for k in source_state if k not in carried),
        fresh=sorted(k for k in target_state if k not in carried),
    )
