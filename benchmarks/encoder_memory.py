"""Parameter count and weight / training-state memory of one checkpoint per encoder family.

    python benchmarks/encoder_memory.py

The models are built from their published configurations on PyTorch's ``meta`` device
(no weights are downloaded or allocated), so the parameter counts are exact for those
configurations. Memory is computed from them: weights at 4 bytes (fp32) or 2 (bf16), and
full fine-tuning with AdamW at 16 bytes per parameter (fp32 weights, gradients and two
moments; bf16 autocast keeps all four in fp32). Activations come on top and grow with
batch x length (docs/benchmarks.md measures them for MiniLM with and without gradient
checkpointing).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import markdown_table  # noqa: E402

BASE = {
    "hidden_size": 768,
    "num_hidden_layers": 12,
    "num_attention_heads": 12,
    "intermediate_size": 3072,
}
#: (family, checkpoint, config class, settings): the checkpoints' published config.json values.
CHECKPOINTS = [
    ("bert", "all-MiniLM-L6-v2 (shipped)", "BertConfig",
     {"vocab_size": 30522, "hidden_size": 384, "num_hidden_layers": 6,
      "num_attention_heads": 12, "intermediate_size": 1536}),
    ("bert", "bert-base-uncased", "BertConfig", {"vocab_size": 30522, **BASE}),
    ("roberta", "roberta-base", "RobertaConfig",
     {"vocab_size": 50265, "max_position_embeddings": 514, "type_vocab_size": 1, **BASE}),
    ("roberta", "xlm-roberta-base", "XLMRobertaConfig",
     {"vocab_size": 250002, "max_position_embeddings": 514, "type_vocab_size": 1, **BASE}),
    ("electra", "electra-base-discriminator", "ElectraConfig",
     {"vocab_size": 30522, "embedding_size": 768, **BASE}),
    ("distilbert", "distilbert-base-uncased", "DistilBertConfig",
     {"vocab_size": 30522, "dim": 768, "n_layers": 6, "n_heads": 12, "hidden_dim": 3072}),
    ("deberta_v2", "deberta-v3-base", "DebertaV2Config",
     {"vocab_size": 128100, "relative_attention": True, "position_buckets": 256,
      "max_relative_positions": -1, "norm_rel_ebd": "layer_norm", "share_att_key": True,
      "pos_att_type": ["p2c", "c2p"], "position_biased_input": False, "type_vocab_size": 0,
      **BASE}),
    ("modernbert", "ModernBERT-base", "ModernBertConfig",
     {"vocab_size": 50368, "hidden_size": 768, "num_hidden_layers": 22,
      "num_attention_heads": 12, "intermediate_size": 1152}),
    ("decoder", "SmolLM2-135M (Llama)", "LlamaConfig",
     {"vocab_size": 49152, "hidden_size": 576, "num_hidden_layers": 30,
      "num_attention_heads": 9, "num_key_value_heads": 3, "intermediate_size": 1536,
      "tie_word_embeddings": True}),
    ("decoder", "Qwen2.5-0.5B", "Qwen2Config",
     {"vocab_size": 151936, "hidden_size": 896, "num_hidden_layers": 24,
      "num_attention_heads": 14, "num_key_value_heads": 2, "intermediate_size": 4864,
      "tie_word_embeddings": True}),
]  # fmt: skip


def count(config_class: str, settings: dict) -> int:
    import torch
    import transformers
    from transformers import AutoModel

    config = getattr(transformers, config_class)(**settings)
    with torch.device("meta"):
        model = AutoModel.from_config(config)
    return sum(p.numel() for p in model.parameters())


def main() -> None:
    rows = []
    for family, checkpoint, config_class, settings in CHECKPOINTS:
        n = count(config_class, settings)
        rows.append(
            [
                family,
                checkpoint,
                f"{n / 1e6:.1f} M",
                f"{n * 4 / 2**30:.2f}",
                f"{n * 2 / 2**30:.2f}",
                f"{n * 16 / 2**30:.2f}",
            ]
        )
    header = ["adapter", "checkpoint", "parameters", "fp32 GiB", "bf16 GiB", "AdamW train GiB"]
    print(markdown_table(header, rows))


if __name__ == "__main__":
    main()
