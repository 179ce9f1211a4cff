"""Helpers shared by the architectures.

Running an encoder layer by layer is the encoder adapters' job (``encoder_adapters.py``,
one per family); this module keeps what the architectures share besides that.
"""

from __future__ import annotations

from typing import Any


def sorted_task_names(task_names: Any) -> list[str]:
    """Task order for index-based tensors (mixing matrices, gate buffers, discriminator classes).

    Why sorted: a saved model lists its tasks alphabetically (``mtl_model.json`` is written
    with ``sort_keys``), while training sees them in config order; rows of a tensor must
    mean the same task in both, or a loaded model silently mixes up tasks.
    """
    return sorted(task_names)
