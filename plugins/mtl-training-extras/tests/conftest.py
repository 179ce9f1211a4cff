"""A tiny random BERT (2 layers, hidden 32): real Hugging Face modules in milliseconds."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def tiny_encoder():
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=64,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=64,
        max_position_embeddings=64,
    )
    return BertModel(config).eval()


@pytest.fixture
def batch():
    torch.manual_seed(1)
    ids = torch.randint(5, 64, (3, 7))
    mask = torch.ones_like(ids)
    mask[2, 5:] = 0
    return {"input_ids": ids, "attention_mask": mask}


@pytest.fixture
def build_lora(tiny_encoder):
    """``build_lora(*task_names, encoder=None, **options)``: a LoraArchitecture with
    binary classification heads, options validated as the core validates config."""
    from mtl_pipeline.architectures.base import TaskHeadSpec
    from mtl_pipeline.task_types.classification import ClassificationTask

    from mtl_training_extras.lora import LoraArchitecture

    task_type = ClassificationTask(ClassificationTask.Options(dropout=0.0))

    def build(*names: str, encoder=None, **options):
        opts = LoraArchitecture.parse_options(options, "model.architecture")
        specs = [TaskHeadSpec(n, task_type, 2) for n in names]
        return LoraArchitecture(encoder if encoder is not None else tiny_encoder, specs, opts)

    return build
