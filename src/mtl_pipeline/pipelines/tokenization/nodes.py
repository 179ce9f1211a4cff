"""Tokenization: the encoder's fast tokenizer, batched; no padding on disk."""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd


@functools.lru_cache(maxsize=4)
def _tokenizer(name: str, trust_remote_code: bool) -> Any:
    from mtl_pipeline.encoders import load_tokenizer

    return load_tokenizer(name, trust_remote_code=trust_remote_code)


def tokenize_task(
    train_examples: pd.DataFrame,
    validation_examples: pd.DataFrame,
    label_info: dict[str, Any],
    model: dict[str, Any],
    tokenization: dict[str, Any],
    task_name: str,
) -> tuple[Any, Any, dict[str, Any]]:
    """Arrow datasets of token ids and encoded labels, plus truncation statistics."""
    import datasets

    from mtl_pipeline.config import ModelConfig, TokenizationConfig, parse_section
    from mtl_pipeline.tokenization import tokenize_frame

    model_cfg = parse_section(ModelConfig, model, "model")
    parse_section(TokenizationConfig, tokenization, "tokenization")
    tokenizer = _tokenizer(model_cfg.tokenizer or model_cfg.encoder, model_cfg.trust_remote_code)
    outputs, stats = [], {"task": task_name, "max_length": model_cfg.max_length}
    for split, frame in (("train", train_examples), ("validation", validation_examples)):
        columns, split_stats = tokenize_frame(
            frame, tokenizer, level=label_info["level"], vocab=label_info["labels"], max_length=model_cfg.max_length
        )
        outputs.append(datasets.Dataset.from_dict(columns))
        stats[split] = split_stats
    return outputs[0], outputs[1], stats
