"""Columnar in-memory task data, dynamic padding and seeded per-task batch streams.

Tokenized splits are held as flat numpy arrays plus offsets (zero-copy views of the
Arrow columns), so building a padded batch is a few vectorized numpy ops with no Python
loop over examples. Each task has its own stream: a seeded permutation per task epoch,
optionally length-grouped (as HF's ``LengthGroupedSampler``: sort by length inside random
mega-batches, then shuffle the batches) so that padding stays small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from mtl_pipeline.task_types.base import IGNORE_INDEX

MEGABATCH_FACTOR = 50


def _flat(column: Any) -> tuple[np.ndarray, np.ndarray]:
    """(values, offsets) of an Arrow list column."""
    import pyarrow as pa

    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    offsets = np.asarray(column.offsets, dtype=np.int64)
    values = np.asarray(column.values.to_numpy(zero_copy_only=False))
    base = offsets[0]
    return values, offsets - base if base else offsets


#: Columns every tokenized split has; any other column is kept in ``TokenizedSplit.extras``.
_CORE_COLUMNS = ("input_ids", "token_type_ids", "labels", "length", "row")


@dataclass
class TokenizedSplit:
    """One tokenized split of one task, ready for vectorized collation.

    An example is one sequence, or, for task types that encode a record as ``group``
    sequences (one per answer choice), ``group`` consecutive sequences: ``offsets`` and
    ``seq_lengths`` index sequences, ``lengths`` is per example (the padded cost of the
    example: ``group`` x its longest sequence), which batching and length grouping use.
    Labels are one value per example, one per token (tagging), or a fixed-size vector per
    example (multi-hot label sets, answer start/end positions).
    """

    ids: np.ndarray
    offsets: np.ndarray
    lengths: np.ndarray
    type_ids: np.ndarray | None
    labels: np.ndarray
    token_labels: bool
    rows: np.ndarray
    seq_lengths: np.ndarray | None = None
    group: int = 1
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.seq_lengths is None:
            self.seq_lengths = self.lengths

    @classmethod
    def from_dataset(cls, dataset: Any) -> TokenizedSplit:
        """From a ``datasets.Dataset`` with the columns written by tokenization."""
        return cls.from_table(
            dataset.data.table if hasattr(dataset.data, "table") else dataset.data
        )

    @classmethod
    def from_columns(cls, columns: dict[str, list[Any]], schema: Any = None) -> TokenizedSplit:
        """From the python lists ``tokenization.tokenize_frame`` returns."""
        import pyarrow as pa

        if schema is not None:
            columns = {f.name: columns[f.name] for f in schema if f.name in columns}
            schema = pa.schema([f for f in schema if f.name in columns])
        return cls.from_table(pa.table(columns, schema=schema))

    @classmethod
    def from_table(cls, table: Any) -> TokenizedSplit:
        import pyarrow as pa

        ids_col = table.column("input_ids")
        group = 1
        if pa.types.is_list(ids_col.type.value_type) or pa.types.is_large_list(
            ids_col.type.value_type
        ):
            # One record = several sequences (answer choices): flatten to sequence level.
            if isinstance(ids_col, pa.ChunkedArray):
                ids_col = ids_col.combine_chunks()
            counts = np.diff(np.asarray(ids_col.offsets))
            group = int(counts[0]) if len(counts) else 1
            if len(counts) and not (counts == group).all():
                raise ValueError("every record must hold the same number of sequences")
            ids_col = ids_col.flatten()
        ids, offsets = _flat(ids_col)
        type_ids = None
        if "token_type_ids" in table.column_names:
            type_col = table.column("token_type_ids")
            if group > 1:
                type_col = type_col.combine_chunks().flatten()
            type_ids, _ = _flat(type_col)
        labels_col = table.column("labels")
        token_labels = pa.types.is_list(labels_col.type) or pa.types.is_large_list(labels_col.type)
        if pa.types.is_fixed_size_list(labels_col.type):
            size = labels_col.type.list_size
            flat = labels_col.combine_chunks().flatten().to_numpy(zero_copy_only=False)
            labels = np.asarray(flat).reshape(-1, size)
        else:
            labels = _flat(labels_col)[0] if token_labels else labels_col.to_numpy()
        seq_lengths = np.diff(offsets)
        lengths = (
            seq_lengths.reshape(-1, group).max(axis=1) * group
            if group > 1 and len(seq_lengths)
            else seq_lengths
        )
        extras = {n: table.column(n) for n in table.column_names if n not in _CORE_COLUMNS}
        return cls(
            ids=ids.astype(np.int64, copy=False),
            offsets=offsets,
            lengths=lengths,
            type_ids=type_ids,
            labels=labels,
            token_labels=token_labels,
            rows=table.column("row").to_numpy(),
            seq_lengths=seq_lengths,
            group=group,
            extras=extras,
        )

    def extra(self, name: str) -> list[Any]:
        """An extra column as Python values (converted once, then cached)."""
        value = self.extras[name]
        if not isinstance(value, list):
            value = value.to_pylist()
            self.extras[name] = value
        return value

    def __len__(self) -> int:
        return len(self.lengths)

    @property
    def num_tokens(self) -> int:
        return int(self.lengths.sum())

    def collate(self, indices: np.ndarray, pad_id: int) -> dict[str, Any]:
        """A dynamically padded batch as torch tensors on CPU (``B x group`` sequences)."""
        import torch

        indices = np.asarray(indices)
        seqs = (
            (indices[:, None] * self.group + np.arange(self.group)[None, :]).reshape(-1)
            if self.group > 1
            else indices
        )
        lengths = self.seq_lengths[seqs]
        width = int(lengths.max())
        positions = np.arange(width)
        mask = positions[None, :] < lengths[:, None]
        gather = np.where(mask, self.offsets[seqs][:, None] + positions[None, :], 0)
        batch = {
            "input_ids": torch.from_numpy(np.where(mask, self.ids[gather], pad_id)),
            "attention_mask": torch.from_numpy(mask.astype(np.int64)),
        }
        if self.type_ids is not None:
            batch["token_type_ids"] = torch.from_numpy(
                np.where(mask, self.type_ids[gather], 0).astype(np.int64)
            )
        if self.token_labels:
            batch["labels"] = torch.from_numpy(
                np.where(mask, self.labels[gather], IGNORE_INDEX).astype(np.int64)
            )
        elif self.labels.dtype.kind == "f":
            batch["labels"] = torch.from_numpy(self.labels[indices].astype(np.float32))
        else:
            batch["labels"] = torch.from_numpy(self.labels[indices].astype(np.int64))
        return batch

    def eval_batches(self, batch_size: int, limit: int | None = None) -> list[np.ndarray]:
        """Index batches sorted by length (least padding); results are re-ordered by index."""
        count = len(self) if limit is None else min(limit, len(self))
        order = np.argsort(self.lengths[:count], kind="stable")
        return [order[i : i + batch_size] for i in range(0, count, batch_size)]


class TaskBatchStream:
    """Endless seeded batches of one task; state is (epoch, cursor), so resume is exact."""

    def __init__(
        self,
        split: TokenizedSplit,
        batch_size: int,
        seed: int,
        length_grouping: bool,
        max_tokens: int | None = None,
    ) -> None:
        self.split = split
        self.batch_size = batch_size
        self.max_tokens = max_tokens
        self.seed = seed
        self.length_grouping = length_grouping
        self.epoch = 0
        self.cursor = 0
        self._batches = self._plan(self.epoch)

    def _plan(self, epoch: int) -> list[np.ndarray]:
        rng = np.random.Generator(np.random.PCG64([self.seed, epoch]))
        order = rng.permutation(len(self.split))
        size = self.batch_size
        if self.length_grouping and len(order) > size:
            mega = size * MEGABATCH_FACTOR
            lengths = self.split.lengths
            grouped = []
            for start in range(0, len(order), mega):
                chunk = order[start : start + mega]
                grouped.append(chunk[np.argsort(-lengths[chunk], kind="stable")])
            order = np.concatenate(grouped)
            batches = self._chunk(order)
            return [batches[i] for i in rng.permutation(len(batches))]
        return self._chunk(order)

    def _chunk(self, order: np.ndarray) -> list[np.ndarray]:
        """Consecutive batches of at most ``batch_size`` examples and, with ``max_tokens``,
        at most that many padded tokens (batch rows x longest row), at least one example."""
        size = self.batch_size
        if self.max_tokens is None:
            return [order[i : i + size] for i in range(0, len(order), size)]
        lengths = self.split.lengths[order]
        batches, start = [], 0
        while start < len(order):
            stop, longest = start, 0
            while stop < len(order) and stop - start < size:
                longest_next = max(longest, int(lengths[stop]))
                if stop > start and longest_next * (stop - start + 1) > self.max_tokens:
                    break
                longest, stop = longest_next, stop + 1
            batches.append(order[start:stop])
            start = stop
        return batches

    def next_indices(self) -> np.ndarray:
        if self.cursor >= len(self._batches):
            self.epoch += 1
            self.cursor = 0
            self._batches = self._plan(self.epoch)
        batch = self._batches[self.cursor]
        self.cursor += 1
        return batch

    def state_dict(self) -> dict[str, int]:
        return {"epoch": self.epoch, "cursor": self.cursor}

    def load_state_dict(self, state: dict[str, int]) -> None:
        self.epoch, self.cursor = int(state["epoch"]), int(state["cursor"])
        self._batches = self._plan(self.epoch)


def task_streams(tasks: dict[str, Any], config: Any, dist: Any) -> dict[str, TaskBatchStream]:
    """One seeded batch stream per task (``tasks``: name -> object with a ``train`` split).
    Every rank draws the same global batch (``batch_size`` x world size) and keeps its
    stride of it."""
    return {
        name: TaskBatchStream(
            task.train,
            config.batch_size * dist.world_size,
            seed=config.seed * 1009 + i,
            length_grouping=config.length_grouping,
            max_tokens=config.max_tokens_per_batch * dist.world_size
            if config.max_tokens_per_batch
            else None,
        )
        for i, (name, task) in enumerate(tasks.items())
    }
