"""Every encoder family: layer-by-layer equality, tokenizers, pooling, gradient
checkpointing, and the family x architecture matrix (train a few steps, save, load,
identical predictions).

The families are tiny random models built by ``scripts/make_tiny_encoders.py`` into a
session temporary folder (hidden 32, 2-3 layers, the MiniLM tokenizer or one trained on
the fly), so every family's real Hugging Face code runs in well under a second per step.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from mtl_pipeline.architectures.base import encoder_inputs
from mtl_pipeline.errors import ConfigError
from mtl_pipeline.registry import get_registry
from tests.conftest import REPO

_spec = importlib.util.spec_from_file_location(
    "make_tiny_encoders", REPO / "scripts" / "make_tiny_encoders.py"
)
tiny = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(tiny)

FAMILIES = list(tiny.FAMILIES)
DECODERS = {"llama", "qwen2", "mistral"}
ARCHITECTURES = [*get_registry().names("architecture")]
try:  # the example plugin, when its source is on the path
    import mtl_training_extras  # noqa: F401

    HAS_LORA = "lora" in ARCHITECTURES
except ImportError:
    HAS_LORA = False


@pytest.fixture(scope="session")
def family_dirs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("tiny_families")
    return {family: tiny.build(family, root / family) for family in FAMILIES}


def _load(path: Path):
    from mtl_pipeline.encoders import load_encoder, load_tokenizer

    return load_encoder(str(path)).eval(), load_tokenizer(str(path))


def _pair_batch(tokenizer) -> dict[str, torch.Tensor]:
    """Two padded sentence pairs, collated as training collates them (right padding)."""
    import pandas as pd

    from mtl_pipeline.tokenization import tokenize_frame
    from mtl_pipeline.training.batching import TokenizedSplit

    frame = pd.DataFrame(
        {
            "row": [0, 1],
            "text_a": ["A cat.", "A man is playing a guitar on the stage tonight."],
            "text_b": ["It sleeps.", "Music."],
            "label": ["0", "1"],
        }
    )
    columns, _ = tokenize_frame(frame, tokenizer, level="sequence", vocab=["0", "1"], max_length=64)
    batch = TokenizedSplit.from_columns(columns).collate(np.arange(2), tokenizer.pad_token_id)
    batch.pop("labels")
    assert (batch["attention_mask"] == 0).any()
    return batch


# --- layer by layer --------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
def test_layers_one_by_one_reproduce_the_models_hidden_states(family, family_dirs):
    """The adapter's embeddings, every layer and the final norm equal the family's own
    ``model(**inputs, output_hidden_states=True)`` (padded batch, real masks)."""
    from mtl_pipeline.architectures.encoder_adapters import encoder_adapter_for

    encoder, tokenizer = _load(family_dirs[family])
    adapter = encoder_adapter_for(encoder, "test")
    batch = _pair_batch(tokenizer)
    with torch.no_grad():
        expected = encoder(**encoder_inputs(batch, encoder), output_hidden_states=True)
        states = adapter.run(encoder, batch)
    assert len(states) == len(expected.hidden_states) == encoder.config.num_hidden_layers + 1
    # Pre-LN families report the last layer after their final norm.
    for depth, (ours, theirs) in enumerate(
        zip(states[:-1], expected.hidden_states[:-1], strict=True)
    ):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=1e-5, msg=f"depth {depth}")
    last = adapter.finish(encoder, states[-1])
    torch.testing.assert_close(last, expected.last_hidden_state, rtol=0, atol=1e-5)


def test_deberta_v3_layout_without_convolution(family_dirs):
    """DeBERTa-v3 has no convolution after the first layer (the v2 tiny model has one)."""
    from transformers import AutoConfig, AutoModel

    from mtl_pipeline.architectures.encoder_adapters import encoder_adapter_for

    config = AutoConfig.from_pretrained(family_dirs["deberta_v2"])
    config.conv_kernel_size = 0
    torch.manual_seed(0)
    encoder = AutoModel.from_config(config).eval()
    assert encoder.encoder.conv is None
    _, tokenizer = _load(family_dirs["deberta_v2"])
    batch = _pair_batch(tokenizer)
    adapter = encoder_adapter_for(encoder, "test")
    with torch.no_grad():
        expected = encoder(**batch).last_hidden_state
        actual = adapter.finish(encoder, adapter.run(encoder, batch)[-1])
    torch.testing.assert_close(actual, expected, rtol=0, atol=1e-5)


# --- registry ----------------------------------------------------------------------------
def test_adapters_are_registered_components_and_a_plugin_can_add_a_family(family_dirs):
    from mtl_pipeline.architectures.encoder_adapters import BertAdapter, find_encoder_adapter
    from mtl_pipeline.hookspecs import hookimpl
    from mtl_pipeline.registry import reset_registry

    names = get_registry().names("encoder_adapter")
    assert {
        "bert",
        "roberta",
        "electra",
        "distilbert",
        "deberta_v2",
        "modernbert",
        "decoder",
    } <= set(names)
    config = type("Config", (), {"model_type": "my-bert"})()
    assert find_encoder_adapter(config) is None

    class MyBert(BertAdapter):
        name = "my_bert"
        description = "A BERT clone under another model type."
        model_types = ("my-bert",)

    class Plugin:
        MTL_PIPELINE_API_VERSION = 1

        @hookimpl
        def register_encoder_adapters(self):
            return [MyBert]

    class Rival(BertAdapter):
        name = "rival_bert"
        model_types = ("my-bert",)

    class RivalPlugin:
        MTL_PIPELINE_API_VERSION = 1

        @hookimpl
        def register_encoder_adapters(self):
            return [Rival]

    try:
        registry = reset_registry({"my_plugin": Plugin()})
        assert registry.entry("encoder_adapter", "my_bert").plugin == "my_plugin"
        assert find_encoder_adapter(config) is MyBert
        reset_registry({"my_plugin": Plugin(), "rival": RivalPlugin()})
        with pytest.raises(
            ConfigError,
            match=r"'my-bert' is claimed by.*my_bert \(my_plugin\), rival_bert \(rival\)",
        ):
            find_encoder_adapter(config)
    finally:
        reset_registry()


def test_unknown_family_is_refused_by_layer_architectures_naming_both(family_dirs, smoke_task_data):
    """A family without an adapter: whole-model architectures still work, layer-by-layer
    ones fail when built, naming the architecture and the model type."""
    from mtl_pipeline.architectures.encoder_adapters import DecoderAdapter

    encoder, _ = _load(family_dirs["qwen2"])
    original = DecoderAdapter.model_types
    DecoderAdapter.model_types = ("llama",)
    try:
        arch = _build("hard_sharing", encoder, smoke_task_data)
        assert arch.encoder_adapter is None and arch.default_pooling == "mean"
        with pytest.raises(ConfigError, match=r"'cross_stitch'.*model_type 'qwen2'"):
            _build("cross_stitch", encoder, smoke_task_data)
    finally:
        DecoderAdapter.model_types = original


def _build(name: str, encoder, task_data_pair, **options):
    from mtl_pipeline.modeling.multitask_model import build_architecture
    from tests.test_architectures import _metas, architecture_spec

    tasks, task_data = task_data_pair
    spec = {**architecture_spec(name, list(task_data)), **options}
    spec.pop("name")
    return build_architecture(name, spec, encoder, _metas(tasks, task_data))


# --- tokenizers ----------------------------------------------------------------------------
def test_decoder_tokenizers_get_a_pad_token_and_a_pair_separator(family_dirs):
    from transformers import AutoTokenizer

    for family in ("llama", "qwen2"):
        raw = AutoTokenizer.from_pretrained(family_dirs[family])
        assert raw.pad_token is None  # as the family ships it
        _, tokenizer = _load(family_dirs[family])
        assert tokenizer.pad_token == tokenizer.eos_token
        batch = _pair_batch(tokenizer)
        first = batch["input_ids"][0, : int(batch["attention_mask"][0].sum())].tolist()
        assert tokenizer.eos_token_id in first[:-1], "nothing separates the two texts"
    _, bert = _load(family_dirs["bert"])
    assert "token_type_ids" in _pair_batch(bert)  # families with type ids keep them
    _, roberta = _load(family_dirs["roberta"])
    assert "token_type_ids" not in _pair_batch(roberta)


def test_encoder_inputs_keep_only_what_forward_takes(family_dirs):
    """A WordPiece tokenizer makes token type ids; DistilBERT, ModernBERT and decoders do
    not take them (transformers 4.x raised on them, 5.x swallows unknown keywords)."""
    batch = {k: torch.ones(1, 3, dtype=torch.long) for k in ("input_ids", "attention_mask")}
    batch |= {"token_type_ids": torch.zeros(1, 3, dtype=torch.long), "labels": torch.ones(1)}
    for family, keeps in (("bert", True), ("distilbert", False), ("modernbert", False)):
        encoder, _ = _load(family_dirs[family])
        kept = encoder_inputs(batch, encoder)
        assert set(kept) == {"input_ids", "attention_mask"} | (
            {"token_type_ids"} if keeps else set()
        )


def test_a_tokenizer_with_nothing_to_pad_with_is_refused():
    from mtl_pipeline.errors import DataError
    from mtl_pipeline.tokenization import ensure_pad_token

    bare = type("Bare", (), {"pad_token": None, "eos_token": None, "unk_token": None})()
    with pytest.raises(DataError, match="no pad token and no end-of-text"):
        ensure_pad_token(bare)


@pytest.mark.parametrize(
    "family, cat",
    [("roberta", "Ġcat"), ("qwen2", "Ġcat"), ("xlm_roberta", "▁cat"), ("deberta_v2", "▁cat")],
)
def test_tagging_words_tokenize_as_in_running_text(family, cat, family_dirs):
    """Byte-level BPE needs a space before each pre-split word; SentencePiece marks word
    starts itself. Each word's first sub-word carries its tag."""
    import pandas as pd

    from mtl_pipeline.tokenization import tokenize_frame

    _, tokenizer = _load(family_dirs[family])
    frame = pd.DataFrame({"row": [0], "tokens": [["a", "cat", "sat"]], "tags": [["D", "N", "V"]]})
    columns, _ = tokenize_frame(
        frame, tokenizer, level="token", vocab=["D", "N", "V"], max_length=16
    )
    pieces = tokenizer.convert_ids_to_tokens(columns["input_ids"][0])
    running = tokenizer.convert_ids_to_tokens(
        tokenizer("a cat sat", add_special_tokens=False)["input_ids"]
    )
    assert cat in pieces and cat in running
    labelled = [p for p, label in zip(pieces, columns["labels"][0], strict=True) if label != -100]
    assert len(labelled) == 3 and labelled[1] == cat


def test_embedding_table_larger_than_tokenizer_is_accepted(family_dirs):
    from mtl_pipeline.encoders import check_tokenizer_matches, load_encoder_config

    config = load_encoder_config(str(family_dirs["qwen2"]))
    _, tokenizer = _load(family_dirs["qwen2"])
    assert config.vocab_size > len(tokenizer)
    check_tokenizer_matches(tokenizer, config)
    config.vocab_size = len(tokenizer) - 1
    with pytest.raises(ConfigError, match="tokenizer has"):
        check_tokenizer_matches(tokenizer, config)


# --- pooling -------------------------------------------------------------------------------
def test_last_token_pooling_handles_either_padding_side():
    from mtl_pipeline.task_types.heads import last_token

    hidden = torch.arange(2 * 4, dtype=torch.float32).reshape(2, 4, 1)
    right = torch.tensor([[1, 1, 0, 0], [1, 1, 1, 1]])
    left = torch.tensor([[0, 0, 1, 1], [1, 1, 1, 1]])
    assert last_token(hidden, right).flatten().tolist() == [1.0, 7.0]
    assert last_token(hidden, left).flatten().tolist() == [3.0, 7.0]


def test_pooling_defaults_per_family_and_per_task(family_dirs, smoke_task_data):
    tasks, task_data = smoke_task_data
    qwen, _ = _load(family_dirs["qwen2"])
    arch = _build("hard_sharing", qwen, smoke_task_data)
    assert {h.pooling for h in arch.heads.values()} == {"last"}
    bert, _ = _load(family_dirs["bert"])
    assert {h.pooling for h in _build("hard_sharing", bert, smoke_task_data).heads.values()} == {
        "mean"
    }
    tasks = {**tasks, "sst2": {**tasks["sst2"], "head": {"pooling": "cls"}}}
    arch = _build("hard_sharing", qwen, (tasks, task_data))
    assert arch.heads["sst2"].pooling == "cls" and arch.heads["cola"].pooling == "last"


# --- gradient checkpointing ------------------------------------------------------------------
@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("name", ["hard_sharing", "cross_stitch"])
def test_gradient_checkpointing_recomputes_layers_and_keeps_gradients(
    family, name, family_dirs, smoke_task_data
):
    """Same gradients with and without; every layer (encoder and task columns) runs
    twice per training step with it (forward, then recomputed in backward)."""
    from mtl_pipeline.encoders import set_encoder_dropout

    _, tokenizer = _load(family_dirs[family])
    batch = _pair_batch(tokenizer)

    def grads(checkpointing: bool) -> tuple[dict[str, torch.Tensor], int]:
        encoder, _ = _load(family_dirs[family])
        set_encoder_dropout(encoder, 0.0)
        torch.manual_seed(0)
        options = {"top_layers": 1} if name == "cross_stitch" else {}
        arch = _build(name, encoder, smoke_task_data, **options).train()
        if checkpointing:
            arch.enable_gradient_checkpointing()
        layers = arch.encoder_adapter.layers(encoder)
        layer = arch.columns["mrpc"][0] if name == "cross_stitch" else layers[0]
        # A sub-module of the layer: Hugging Face checkpoints a layer's forward, so the
        # layer's own hooks run once while everything inside it runs again in backward.
        probe = arch.encoder_adapter.layer_site(layer, "ffn")
        calls = []
        handle = probe.register_forward_pre_hook(lambda *a: calls.append(1))
        arch("mrpc", batch).logits.float().pow(2).sum().backward()
        handle.remove()
        return {n: p.grad for n, p in arch.named_parameters() if p.grad is not None}, len(calls)

    plain, plain_calls = grads(False)
    checked, checked_calls = grads(True)
    assert plain_calls == 1 and checked_calls == 2
    assert plain.keys() == checked.keys()
    for key in plain:
        torch.testing.assert_close(checked[key], plain[key], rtol=1e-4, atol=1e-6)


# --- the matrix ----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def family_task_data(family_dirs):
    """Per family: (tasks, task_data) for sst2 (classification) and upos (tagging)."""
    import datasets
    import yaml

    from mtl_pipeline.config import TaskConfig
    from mtl_pipeline.ingestion import ingest
    from mtl_pipeline.tokenization import tokenize_frame

    base = yaml.safe_load((REPO / "conf" / "base" / "parameters_ingestion.yml").read_text())
    upos = yaml.safe_load((REPO / "conf" / "hierarchical" / "parameters.yml").read_text())
    configs = {"sst2": base["tasks"]["sst2"], "upos": upos["tasks"]["upos"]}
    cwd = os.getcwd()
    os.chdir(REPO)
    try:
        raw = {n: ingest(n, TaskConfig(**c), 16, 8, 0) for n, c in configs.items()}
    finally:
        os.chdir(cwd)
    out = {}
    for family, path in family_dirs.items():
        _, tokenizer = _load(path)
        task_data = {}
        for name, (train, dev, info) in raw.items():
            feats = {}
            for split, frame in (("train_features", train), ("validation_features", dev)):
                columns, _ = tokenize_frame(
                    frame, tokenizer, level=info["level"], vocab=info["labels"], max_length=32
                )
                feats[split] = datasets.Dataset.from_dict(columns)
            task_data[name] = {**feats, "label_info": info}
        out[family] = (configs, task_data)
    return out


def _matrix_spec(name: str) -> dict:
    spec: dict = {"name": name}
    if name == "hierarchical":
        spec["task_layers"] = {"upos": 1}
    elif name in ("cross_stitch", "sluice"):
        spec["top_layers"] = 1
    elif name == "per_task":
        spec["base"] = {"name": "cross_stitch", "top_layers": 1}
    return spec


@pytest.mark.parametrize("name", ARCHITECTURES)
@pytest.mark.parametrize("family", FAMILIES)
def test_every_architecture_trains_saves_and_loads_on_every_family(
    family, name, family_dirs, family_task_data, tmp_path
):
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel
    from mtl_pipeline.training.run import run_training
    from tests.conftest import tiny_training_params

    tasks, task_data = family_task_data[family]
    model_params, training = tiny_training_params(
        family_dirs[family], max_steps=2, batch_size=4, eval_every=0, log_every=1
    )
    model_params["max_length"] = 32
    model_params["architecture"] = _matrix_spec(name)
    model, history = run_training(model_params, training, tasks, task_data)
    assert len(history["steps"]) == 2
    assert all(np.isfinite(v) for s in history["steps"] for v in s["losses"].values())
    model.save(tmp_path / "m")
    loaded = MultiTaskModel.load(tmp_path / "m")
    texts = ["a gripping, funny film", "dull"]
    assert model.predict("sst2", texts) == loaded.predict("sst2", texts)
    words = [["The", "cat", "sat", "."], ["Stocks", "fell"]]
    tags = loaded.predict("upos", words)
    assert model.predict("upos", words) == tags and [len(t) for t in tags] == [4, 2]
