"""Multi-process data parallelism on ``torch.distributed``, launched by ``torchrun``.

Launch: ``torchrun --nproc_per_node=N -m kedro run`` (one node) or with ``--nnodes`` and a
rendezvous endpoint (a cluster). Every rank runs the whole Kedro pipeline; ranks other
than 0 keep their outputs in memory (``RankAwareDataCatalog``), so only rank 0 writes.

Why not wrap the model in ``DistributedDataParallel``: DDP all-reduces every bucket on
every backward and expects one backward per step, while gradient-combination losses
(PCGrad, CAGrad, MGDA...) need each task's gradient on the shared parameters *separately*,
averaged over ranks, before they are combined. So the trainer calls the same collective
DDP uses (``all_reduce`` over a flattened buffer, NCCL on GPUs, gloo on CPUs) at exactly
those points: once per task for the shared-gradient row of a gradient-mode loss, and once
per step for all remaining gradients. Every rank draws the same step plan (same sampler
seed) and the same global batch of each task, and keeps its own stride of it, so N ranks
with ``batch_size`` B train like one process with batch ``N * B``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import torch

from mtl_pipeline.training.distributed_env import env_rank  # noqa: F401 (re-export)


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env() -> DistContext:
    """Join the process group ``torchrun`` describes in the environment, if any."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    import torch.distributed as dist

    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        backend = "nccl" if torch.cuda.is_available() else "gloo"
        if backend == "nccl":
            torch.cuda.set_device(local_rank)
        dist.init_process_group(backend=backend)
    return DistContext(
        rank=dist.get_rank(), world_size=dist.get_world_size(), local_rank=local_rank
    )


def all_reduce_mean_(tensor: torch.Tensor, ctx: DistContext) -> torch.Tensor:
    if ctx.enabled:
        import torch.distributed as dist

        dist.all_reduce(tensor, op=dist.ReduceOp.SUM)
        tensor.div_(ctx.world_size)
    return tensor


def all_reduce_grads_(params: list[torch.nn.Parameter], ctx: DistContext) -> None:
    """Average ``.grad`` of ``params`` over ranks with one collective per dtype."""
    if not ctx.enabled:
        return
    by_dtype: dict[torch.dtype, list[torch.nn.Parameter]] = {}
    for p in params:
        if p.grad is None:
            p.grad = torch.zeros_like(p)  # every rank must contribute the same layout
        by_dtype.setdefault(p.grad.dtype, []).append(p)
    for group in by_dtype.values():
        flat = torch.cat([p.grad.reshape(-1) for p in group])
        all_reduce_mean_(flat, ctx)
        offset = 0
        for p in group:
            n = p.numel()
            p.grad.copy_(flat[offset : offset + n].view_as(p.grad))
            offset += n


def broadcast_parameters_(module: torch.nn.Module, ctx: DistContext) -> None:
    """Start every rank from rank 0's weights (heads are seeded alike, but be certain)."""
    if not ctx.enabled:
        return
    import torch.distributed as dist

    with torch.no_grad():
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=0)


def barrier(ctx: DistContext) -> None:
    if ctx.enabled:
        import torch.distributed as dist

        dist.barrier()


def device_for(ctx: DistContext, requested: Any) -> Any:
    """Under torchrun each rank owns ``cuda:LOCAL_RANK``."""
    if ctx.enabled and requested.type == "cuda":
        return torch.device(f"cuda:{ctx.local_rank}")
    return requested
