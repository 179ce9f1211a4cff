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


def head_tensor_names(architecture: Any, tasks: Iterable[str]) -> set[str]:
    """State-dict names of ``tasks``' output heads (``architecture.heads[task]``)."""
    heads = getattr(architecture, "heads", None)
    if heads is None:
        return set()
    ids = {id(t) for task in tasks for t in (*heads[task].parameters(), *heads[task].buffers())}
    named = (*architecture.named_parameters(), *architecture.named_buffers())
    return {name for name, tensor in named if id(tensor) in ids}


def carry_over(source: Any, target: Any, keep_tasks: Iterable[str] = ()) -> TransferReport:
    """Copy ``source``'s shared tensors (and ``keep_tasks``' own ones) into ``target``.

    Every other task's own tensors in ``source`` are dropped. In ``target`` only the output
    heads of tasks not in ``keep_tasks`` may stay as initialized; any other tensor without a
    same-named, same-shaped source tensor stops the transfer with a ``ConfigError`` before
    anything is copied. That refuses both an architecture whose shared part is shaped by its
    task set (MMoE's per-task gate statistics) and one whose encoder is itself a task's own
    (cross-stitch columns, ``per_task`` copies, adapters on a frozen encoder): there, STILTs
    would silently start the target from the pretrained encoder, i.e. be single-task.
    """
    return _transfer(source, target, list(keep_tasks), apply=True)


def _transfer(source: Any, target: Any, keep: list[str], apply: bool) -> TransferReport:
    """``carry_over``'s plan, its checks, and (``apply``) the copy."""
    source_state = source.state_dict()
    target_state = target.state_dict()
    source_own = own_parameter_names(source, source.task_specs) - own_parameter_names(source, keep)
    may_stay_fresh = head_tensor_names(target, [t for t in target.task_specs if t not in keep])
    carried = {
        key: value
        for key, value in source_state.items()
        if key not in source_own and key in target_state and target_state[key].shape == value.shape
    }
    uncovered = sorted(k for k in target_state if k not in carried and k not in may_stay_fresh)
    if uncovered:
        more = f" and {len(uncovered) - 5} more" if len(uncovered) > 5 else ""
        raise ConfigError(
            f"model.architecture: cannot carry the trained weights of {type(source).__name__} "
            f"over to a model for {', '.join(target.task_specs)}: {', '.join(uncovered[:5])}"
            f"{more} would stay untrained. STILTs and MTL-then-fine-tune carry everything but "
            "the output heads, so they need an architecture whose only task-specific part is "
            "its heads and whose shared part does not depend on the task set (hard_sharing, "
            "hierarchical)."
        )
    if apply:
        target.load_state_dict(carried, strict=False)
    return TransferReport(
        carried=sorted(carried),
        dropped=sorted(k for k in source_state if k not in carried),
        fresh=sorted(k for k in target_state if k not in carried),
    )


def check_transferable(
    ctx: Any, source_tasks: list[str], target_tasks: list[str], keep_tasks: Iterable[str] = ()
) -> None:
    """Fail before any training if ``carry_over`` would refuse this architecture.

    Builds the two architectures on a randomly initialized encoder of the configured shape
    (no weights read) and tries the copy; a STILTs run would otherwise discover the problem
    only after its first phase. Every phase reseeds, so the random draws change nothing.
    """
    from transformers import AutoModel

    from mtl_pipeline.encoders import load_encoder_config
    from mtl_pipeline.modeling.multitask_model import build_architecture
    from mtl_pipeline.training.phase import task_meta

    model_cfg = ctx.model_cfg
    config = load_encoder_config(model_cfg.encoder, trust_remote_code=model_cfg.trust_remote_code)

    def build(tasks: list[str]) -> Any:
        metas = {t: task_meta(t, ctx.task_cfgs[t], ctx.task_data[t]["label_info"]) for t in tasks}
        encoder = AutoModel.from_config(config, trust_remote_code=model_cfg.trust_remote_code)
        arch = model_cfg.architecture
        return build_architecture(arch.name, arch.options, encoder, metas)

    _transfer(build(source_tasks), build(target_tasks), list(keep_tasks), apply=False)
