"""Head modules shared by the built-in task types."""

from __future__ import annotations

import torch
from torch import nn


def masked_mean(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean over real tokens: the pooling sentence-transformers models are trained with."""
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1.0)


def last_token(hidden: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """State of each sequence's last real token, whichever side it is padded on: in a
    decoder-only model it is the only token that has seen the whole input."""
    positions = torch.arange(mask.shape[1], device=mask.device)
    index = (positions * mask.to(positions.dtype)).argmax(dim=1)
    return hidden[torch.arange(hidden.shape[0], device=hidden.device), index]


class SequenceHead(nn.Module):
    """Pool (mean, [CLS] or last real token) → dropout → linear.

    ``pooling`` None is resolved by the architecture to the encoder family's default
    before the head is used (``Architecture.build_heads``).
    """

    def __init__(
        self, hidden_size: int, num_outputs: int, pooling: str | None, dropout: float
    ) -> None:
        super().__init__()
        self.pooling = pooling
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, num_outputs)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        if self.pooling == "cls":
            pooled = hidden[:, 0]
        elif self.pooling == "last":
            pooled = last_token(hidden, attention_mask)
        else:
            pooled = masked_mean(hidden, attention_mask)
        return self.out(self.dropout(pooled))


class TokenHead(nn.Module):
    """Dropout → linear on every token."""

    def __init__(self, hidden_size: int, num_outputs: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, num_outputs)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        return self.out(self.dropout(hidden))


class SpanHead(nn.Module):
    """Dropout → linear to (start, end) scores per token; padding can never be chosen."""

    def __init__(self, hidden_size: int, dropout: float) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(hidden_size, 2)

    def forward(self, hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        logits = self.out(self.dropout(hidden))
        return logits.masked_fill(attention_mask.unsqueeze(-1) == 0, -1e4)
