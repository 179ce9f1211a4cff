"""Build the ``WeightingContext`` the trainer passes to ``TaskWeighting.bind``.

The interesting part is locating the *last shared layer* inside the flat shared-gradient
vector, for the cheap MGDA/GradNorm variants (``params: last_layer``). Rather than adding
a required method to every architecture, it is found in this order:

1. an architecture may define ``last_shared_parameters() -> list[nn.Parameter]``
   (optional, duck-typed; no base-class change needed) and say exactly which tensors;
2. otherwise, by parameter names: the shared tensors under the highest-numbered block of
   a ``layer.N.`` / ``layers.N.`` / ``h.N.`` / ``block.N.`` / ``blocks.N.`` stack (the
   last transformer layer of a BERT/GPT-style encoder). Name order, not registration
   order, matters because BERT registers an unused pooler after its layers, whose
   gradient is zero;
3. otherwise the last two shared tensors (typically a final weight and bias).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from torch import nn

from mtl_pipeline.losses.base import WeightingContext

_LAYER_INDEX = re.compile(r"(?:^|\.)(?:layer|layers|h|block|blocks)\.(\d+)\.")


def _last_layer_positions(
    architecture: Any, params: Sequence[nn.Parameter], names: Sequence[str]
) -> list[int]:
    picker = getattr(architecture, "last_shared_parameters", None)
    if callable(picker):
        wanted = {id(p) for p in picker()}
        chosen = [i for i, p in enumerate(params) if id(p) in wanted]
        if chosen:
            return chosen
    indices: list[int | None] = []
    for name in names:
        matches = list(_LAYER_INDEX.finditer(name))
        indices.append(int(matches[-1].group(1)) if matches else None)
    numbered = [i for i in indices if i is not None]
    if numbered:
        top = max(numbered)
        return [pos for pos, i in enumerate(indices) if i == top]
    return list(range(max(0, len(params) - 2), len(params)))


def _ranges(positions: list[int], sizes: Sequence[int]) -> tuple[tuple[int, int], ...]:
    """Flat-vector ``(start, stop)`` ranges of the tensors at ``positions``, merged."""
    offsets = [0]
    for size in sizes:
        offsets.append(offsets[-1] + size)
    ranges: list[list[int]] = []
    for pos in sorted(positions):
        start, stop = offsets[pos], offsets[pos + 1]
        if ranges and ranges[-1][1] == start:
            ranges[-1][1] = stop
        else:
            ranges.append([start, stop])
    return tuple((a, b) for a, b in ranges)


def weighting_context(
    architecture: Any, shared_params: Sequence[nn.Parameter], seed: int
) -> WeightingContext:
    """The context for ``architecture`` whose shared gradient is flattened from
    ``shared_params`` in this order (the trainer's ``shared_params``)."""
    by_id = {id(p): n for n, p in architecture.named_parameters()}
    names = [by_id.get(id(p), f"param{i}") for i, p in enumerate(shared_params)]
    sizes = [p.numel() for p in shared_params]
    positions = _last_layer_positions(architecture, shared_params, names) if shared_params else []
    return WeightingContext(
        task_types={t: spec.task_type.name for t, spec in architecture.task_specs.items()},
        shared_parameter_names=tuple(names),
        shared_parameter_sizes=tuple(sizes),
        last_shared_layer=_ranges(positions, sizes),
        seed=int(seed),
    )
