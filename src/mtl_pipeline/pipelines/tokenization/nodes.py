"""Tokenization: the encoder's fast tokenizer, batched through ``datasets.map``; no
padding on disk; a re-run with unchanged inputs and tokenizer reuses the cached Arrow files."""

from __future__ import annotations

import functools
import logging
from pathlib import Path
from typing import Any

import pandas as pd

logger = logging.getLogger(__name__)


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
    from mtl_pipeline.config import ModelConfig, TokenizationConfig, parse_section
    from mtl_pipeline.tokenization import (
        task_type_from_info,
        tokenization_fingerprint,
        tokenize_dataset,
    )

    model_cfg = parse_section(ModelConfig, model, "model")
    tok_cfg = parse_section(TokenizationConfig, tokenization, "tokenization")
    tokenizer = _tokenizer(model_cfg.tokenizer or model_cfg.encoder, model_cfg.trust_remote_code)
    cache_dir = Path(tok_cfg.cache_dir) if tok_cfg.cache_dir else None
    task_type = task_type_from_info(label_info, task_name)
    outputs, stats = [], {"task": task_name, "max_length": model_cfg.max_length}
    for split, frame in (("train", train_examples), ("validation", validation_examples)):
        cache_file = None
        if cache_dir is not None:
            settings = {
                "level": label_info["level"],
                "labels": label_info["labels"],
                "max_length": model_cfg.max_length,
                "head": label_info.get("head", {}),
            }
            fingerprint = tokenization_fingerprint(frame, tokenizer, **settings)
            cache_file = cache_dir / f"{task_name}-{split}-{fingerprint}.arrow"
            _prune_stale(cache_dir, f"{task_name}-{split}-", keep=fingerprint)
            if cache_file.exists():
                logger.info(
                    "%s/%s: inputs and tokenizer unchanged, reusing %s",
                    task_name,
                    split,
                    cache_file,
                )
            cache_dir.mkdir(parents=True, exist_ok=True)
        dataset, split_stats = tokenize_dataset(
            frame,
            tokenizer,
            level=label_info["level"],
            vocab=label_info["labels"],
            max_length=model_cfg.max_length,
            batch_size=tok_cfg.batch_size,
            num_proc=tok_cfg.num_proc,
            cache_file=str(cache_file) if cache_file else None,
            desc=f"tokenizing {task_name}/{split}",
            task_type=task_type,
        )
        outputs.append(dataset)
        stats[split] = split_stats
    return outputs[0], outputs[1], stats


def _prune_stale(cache_dir: Path, prefix: str, keep: str) -> None:
    """Remove cache files of this task/split made from other inputs (they never match again)."""
    if not cache_dir.exists():
        return
    for path in cache_dir.glob(f"{prefix}*.arrow"):
        if keep not in path.name:
            path.unlink(missing_ok=True)
