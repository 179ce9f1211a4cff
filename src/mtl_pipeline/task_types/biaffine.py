"""The biaffine dependency-parser head (Dozat & Manning 2017, "Deep Biaffine Attention for
Neural Dependency Parsing").

Every position gets four small MLP projections (LeakyReLU, dropout): as a dependent and as
a head, once for arcs and once for relations. The arc scorer is biaffine,
``s[i, j] = dep_i^T W head_j + u^T head_j`` (a word's score for head ``j``, with a prior
on how likely ``j`` is to be a head at all); the relation classifier is a biaffine per
relation, ``s[i, j, r] = [dep_i; 1]^T U_r [head_j; 1]`` (bilinear, both linear terms and
a bias in one tensor). Biaffine weights start at zero, as in the paper.

The head sees every sub-word position; the task type restricts dependents and heads to
first sub-words and uses position 0 (``[CLS]``) as the ROOT. Output layout, per position
``i`` of a batch padded to ``L``: ``L`` arc scores over heads, then ``L x R`` relation
scores (relation scores for every candidate head, so that the loss can take them at the
gold head and decoding at the predicted one). Padding positions can never be heads.
"""

from __future__ import annotations

import torch
from torch import nn


def _mlp(hidden_size: int, size: int, dropout: float) -> nn.Module:
    return nn.Sequential(nn.Linear(hidden_size, size), nn.LeakyReLU(0.1), nn.Dropout(dropout))


class BiaffineParserHead(nn.Module):
    def __init__(
        self, hidden_size: int, num_relations: int, arc_size: int, rel_size: int, dropout: float
    ) -> None:
        super().__init__()
        self.num_relations = num_relations
        self.dropout = nn.Dropout(dropout)
        self.arc_dep = _mlp(hidden_size, arc_size, dropout)
        self.arc_head = _mlp(hidden_size, arc_size, dropout)
        self.rel_dep = _mlp(hidden_size, rel_size, dropout)
        self.rel_head = _mlp(hidden_size, rel_size, dropout)
        self.arc_weight = nn.Parameter(torch.zeros(arc_size + 1, arc_size))
        self.rel_weight = nn.Parameter(torch.zeros(num_relations, rel_size + 1, rel_size + 1))

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        hidden = self.dropout(hidden)
        batch, length, _ = hidden.shape
        ones = hidden.new_ones(batch, length, 1)
        arc_dep = torch.cat([self.arc_dep(hidden), ones], dim=-1)
        arc_head = self.arc_head(hidden)
        arcs = torch.einsum("bix,xy,bjy->bij", arc_dep, self.arc_weight, arc_head)
        arcs = arcs.masked_fill(attention_mask[:, None, :] == 0, -1e4)
        rel_dep = torch.cat([self.rel_dep(hidden), ones], dim=-1)
        rel_head = torch.cat([self.rel_head(hidden), ones], dim=-1)
        left = torch.einsum("bix,rxy->briy", rel_dep, self.rel_weight)
        relations = torch.einsum("briy,bjy->bijr", left, rel_head)
        return torch.cat([arcs, relations.reshape(batch, length, length * self.num_relations)], -1)
