"""`model.dropout`: the encoder's dropout overridden for training, not for the export."""

from __future__ import annotations

import pytest
import torch

from mtl_pipeline.config import ModelConfig
from mtl_pipeline.encoders import load_encoder, set_encoder_dropout
from mtl_pipeline.errors import ConfigError


def _two_forwards(encoder) -> tuple[torch.Tensor, torch.Tensor]:
    encoder.train()
    ids = torch.tensor([[101, 2023, 2003, 1037, 3231, 102]])
    return encoder(input_ids=ids).last_hidden_state, encoder(input_ids=ids).last_hidden_state


def test_zero_dropout_makes_training_forwards_deterministic(tiny_encoder_dir):
    encoder = load_encoder(str(tiny_encoder_dir))
    first, second = _two_forwards(encoder)
    assert not torch.equal(first, second)  # the checkpoint's dropout (0.1) is active
    assert set_encoder_dropout(encoder, 0.0) > 0
    first, second = _two_forwards(encoder)
    assert torch.equal(first, second)
    # The exported config keeps the checkpoint's value for whoever fine-tunes it next.
    assert encoder.config.hidden_dropout_prob == pytest.approx(0.1)


@pytest.mark.parametrize("value", [-0.1, 1.0])
def test_out_of_range_dropout_is_rejected(value):
    from mtl_pipeline.config import parse_section

    with pytest.raises(ConfigError, match="dropout"):
        parse_section(ModelConfig, {"dropout": value}, "model")
