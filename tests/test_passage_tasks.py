"""The passage-level task types: span extraction, multiple choice, multi-label.

Metrics against hand-written values (SQuAD) and scikit-learn (multi-label); windowing
and offset round trips; bad inputs; head sharing; save -> load -> identical predictions.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from mtl_pipeline.config import TaskConfig
from mtl_pipeline.errors import ConfigError, DataError
from mtl_pipeline.ingestion import build_task_type, ingest
from mtl_pipeline.metrics.squad import f1_score, normalize_answer, squad_exact_match, squad_f1
from mtl_pipeline.registry import get_registry
from mtl_pipeline.training.batching import TokenizedSplit
from tests.conftest import tiny_training_params
from tests.passage_data import build_passage_task_data, passage_tasks, write_passage_files


@pytest.fixture(scope="module")
def passage_root(tmp_path_factory):
    return write_passage_files(tmp_path_factory.mktemp("passage"))


@pytest.fixture(scope="module")
def passage_data(passage_root, tiny_encoder_dir):
    return build_passage_task_data(passage_root, tiny_encoder_dir)


def _obj(values):
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = v
    return out


# --- SQuAD metrics: expected values written by hand from the official definition -----------
def test_normalization_follows_the_official_script():
    # lowercase; punctuation removed; a/an/the removed as words; whitespace collapsed
    assert normalize_answer("The  Eiffel-Tower!") == "eiffeltower"
    assert normalize_answer("an apple, a pear and THE plum.") == "apple pear and plum"
    assert normalize_answer("theater") == "theater"  # "the" only as a whole word


def test_squad_exact_match_and_f1_hand_computed():
    predictions = _obj(["the Denver Broncos", "Broncos", "", "Carolina Panthers won", "1990s."])
    references = _obj(
        [
            ["Denver Broncos", "The Broncos"],  # articles ignored: EM 1, F1 1
            ["Denver Broncos"],  # EM 0; P 1/1, R 1/2 -> F1 2/3
            ["Santa Clara"],  # empty prediction: 0, 0
            ["the Panthers", "Carolina Panthers"],  # EM 0; best F1 vs "carolina panthers":
            # P 2/3, R 2/2 -> 0.8 (vs "panthers": P 1/3, R 1 -> 0.5)
            ["1990s", "the 1990s"],  # punctuation ignored: 1, 1
        ]
    )
    assert squad_exact_match(predictions, references) == pytest.approx(2 / 5)
    assert squad_f1(predictions, references) == pytest.approx((1 + 2 / 3 + 0 + 0.8 + 1) / 5)
    # The registered metrics dispatch to the same definitions for answer texts.
    registry = get_registry()
    assert registry.get("metric", "f1")(predictions, references) == pytest.approx(
        (1 + 2 / 3 + 0 + 0.8 + 1) / 5
    )
    assert registry.get("metric", "exact_match")(predictions, references) == pytest.approx(0.4)


def test_squad_f1_counts_repeated_tokens_once_each():
    # Counter intersection: "x x y" vs "x y y" shares one x and one y: 2 tokens of 3.
    assert f1_score("x x y", "x y y") == pytest.approx(2 / 3)
    # Unanswerable gold (SQuAD 2.0): only the empty prediction scores.
    assert squad_exact_match(_obj(["", "x"]), _obj([[], []])) == pytest.approx(0.5)


# --- multi-label metrics against scikit-learn ------------------------------------------------
def test_multi_label_metrics_equal_sklearn():
    from sklearn.metrics import accuracy_score
    from sklearn.metrics import f1_score as sk_f1

    rng = np.random.default_rng(0)
    refs = (rng.random((50, 6)) < 0.3).astype(np.int64)
    preds = (rng.random((50, 6)) < 0.3).astype(np.int64)
    preds[:10] = refs[:10]
    registry = get_registry()
    assert registry.get("metric", "micro_f1")(preds, refs) == pytest.approx(
        sk_f1(refs, preds, average="micro")
    )
    assert registry.get("metric", "macro_f1")(preds, refs) == pytest.approx(
        sk_f1(refs, preds, average="macro", zero_division=0.0)
    )
    assert registry.get("metric", "accuracy")(preds, refs) == pytest.approx(
        accuracy_score(refs, preds)
    )


def test_thresholds_global_and_tuned_per_label():
    from mtl_pipeline.task_types.multi_label import MultiLabelTask

    gold = np.array([[1, 0], [1, 1], [0, 1], [0, 0]])
    split = TokenizedSplit.from_columns(
        {
            "input_ids": [[1, 2]] * 4,
            "labels": gold.astype(float).tolist(),
            "length": [2] * 4,
            "row": [1, 2, 3, 4],
        },
        schema=__import__("mtl_pipeline.task_types.multi_label", fromlist=["x"]).multi_hot_schema(
            2, False
        ),
    )
    probs = np.array([[0.30, 0.20], [0.35, 0.9], [0.1, 0.8], [0.2, 0.7]])
    logits = [np.log(p / (1 - p)) for p in probs]
    task = MultiLabelTask(MultiLabelTask.parse_options({"threshold": 0.5}, "t"))
    predicted, refs = task.decode(split, logits)
    assert predicted.tolist() == [[0, 0], [0, 1], [0, 1], [0, 1]]  # global 0.5
    tuned = MultiLabelTask(MultiLabelTask.parse_options({"threshold_tuning": "per_label"}, "t"))
    # Label 0: positives at 0.30 and 0.35, negatives at 0.1, 0.2 -> a threshold in (0.2, 0.3]
    # gives F1 1; of those, 0.3 is closest to 0.5. Label 1: positives 0.9, 0.8, negative
    # 0.7 and 0.2 -> (0.7, 0.8] gives F1 1; 0.75 and 0.8 both, 0.75 is closer to 0.5.
    assert tuned.fit_decision(split, logits) == {"threshold": [0.3, 0.75]}


# --- multi-label ingestion: names file, unknown ids ----------------------------------------------
def test_goemotions_style_ids_map_to_names(passage_root):
    cfg = TaskConfig(**passage_tasks(passage_root)["emo"])
    train, _, info = ingest("emo", cfg, None, None, 0)
    assert info["labels"] == ["joy", "anger", "fear", "neutral"]
    assert all(set(labels) <= set(info["labels"]) and labels for labels in train["label"])


def test_unknown_label_id_names_file_line_and_field(passage_root, tmp_path):
    bad = tmp_path / "bad.tsv"
    bad.write_text("fine text\t0\ta\nother text\t1,9\tb\n", encoding="utf-8")
    raw = passage_tasks(passage_root)["emo"] | {"train": str(bad)}
    with pytest.raises(DataError) as info:
        ingest("emo", TaskConfig(**raw), None, None, 0)
    message = str(info.value)
    assert f"{bad}: line 2: field labels" in message
    assert "unknown label id '9'" in message and "emotions.txt" in message


# --- multiple choice -------------------------------------------------------------------------
def test_multiple_choice_two_and_four_choices(passage_data):
    _, data = passage_data
    for name, n in (("copa", 2), ("swag", 4)):
        split = TokenizedSplit.from_dataset(data[name]["train_features"])
        assert split.group == n and data[name]["label_info"]["labels"] == [str(i) for i in range(n)]
        batch = split.collate(np.arange(3), pad_id=0)
        assert batch["input_ids"].shape[0] == 3 * n and batch["labels"].shape == (3,)
    # the question is rendered with its template and paired with each choice
    frame = data["copa"]["validation_examples"]
    assert any(c.endswith("What was the cause?") for c in frame["context"])


def test_choice_count_mismatch_and_empty_choices_are_errors(passage_root, tmp_path):
    raw = passage_tasks(passage_root)["swag"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(
        json.dumps({"premise": "p", "endings": ["a", "b", "c", "d"], "label": 0})
        + "\n"
        + json.dumps({"premise": "p", "endings": ["a", "b", "c"], "label": 0})
        + "\n",
        encoding="utf-8",
    )
    with pytest.raises(
        DataError, match=r"bad\.jsonl: line 2: field endings: 3 choices; expected 4"
    ):
        ingest("swag", TaskConfig(**(raw | {"validation": str(bad)})), None, None, 0)
    bad.write_text(json.dumps({"premise": "p", "endings": [], "label": 0}) + "\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"line 1: field endings: expected a non-empty list"):
        ingest("swag", TaskConfig(**(raw | {"validation": str(bad)})), None, None, 0)


# --- span extraction: windows and offsets ---------------------------------------------------
def _squad_file(tmp_path, context, answers, question="What?"):
    path = tmp_path / "squad.json"
    document = {
        "data": [
            {
                "title": "T",
                "paragraphs": [
                    {
                        "context": context,
                        "qas": [{"id": "q1", "question": question, "answers": answers}],
                    }
                ],
            }
        ]
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


def _span_task(path, **head):
    raw = {
        "type": "span_extraction",
        "reader": "squad_json",
        "train": str(path),
        "validation": str(path),
        "text_fields": ["question", "context"],
        "label_field": "answers",
        "metrics": ["exact_match", "f1"],
        "head": {"doc_stride": 8, **head},
    }
    return TaskConfig(**raw)


def _windows(cfg, tokenizer, max_length=32):
    train, _, info = ingest("qa", cfg, None, None, 0, overlap="allow")
    task_type = build_task_type("qa", cfg)
    columns, _ = task_type.tokenize(train, tokenizer, vocab=[], max_length=max_length)
    columns["dropped_words"] = [0] * len(columns["row"])
    split = TokenizedSplit.from_columns(columns, task_type.arrow_schema(columns, []))
    return task_type, train, split


def test_windows_round_trip_offsets_and_find_a_straddling_answer(tmp_path, tiny_encoder_dir):
    from mtl_pipeline.encoders import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_encoder_dir))
    words = [f"w{i}" for i in range(80)]
    context = " ".join(words)
    # The answer sits where a window boundary falls for max_length 32 (about 26 context
    # tokens per window): the first window cuts it, the second holds it.
    answer = " ".join(words[11:15])
    start = context.index(answer)
    path = _squad_file(tmp_path, context, [{"text": answer, "answer_start": start}])
    task_type, _, split = _windows(_span_task(path), tokenizer)
    assert len(split) > 2  # several windows
    labelled = [w for w in range(len(split)) if tuple(split.labels[w]) != (0, 0)]
    assert labelled, "the answer must be found in some window"
    cut = [
        w
        for w in range(len(split))
        if tuple(split.labels[w]) == (0, 0)
        and min(s for s in split.extra("char_start")[w] if s >= 0) < start + len(answer)
        and max(split.extra("char_end")[w]) > start
    ]
    assert cut, "expected a window that holds only part of the answer (labelled [CLS])"
    for w in labelled:
        s, e = split.labels[w]
        assert context[split.extra("char_start")[w][s] : split.extra("char_end")[w][e]] == answer
    # Decoding "perfect" logits maps back to the exact character span, over all windows.
    outputs = []
    for w in range(len(split)):
        logits = np.zeros((int(split.seq_lengths[w]), 2), dtype=np.float32)
        logits[0] = 5.0  # [CLS] scores high everywhere...
        if w in labelled:  # ...but the gold span scores higher where it is whole
            s, e = split.labels[w]
            logits[s, 0] = logits[e, 1] = 10.0
        outputs.append(logits)
    predictions, references = task_type.decode(split, outputs)
    assert predictions.tolist() == [answer] and references.tolist() == [[answer]]
    details, _ = task_type.decode(split, outputs, details=True)
    assert (details[0]["start"], details[0]["end"]) == (start, start + len(answer))


def test_every_question_is_scored_even_when_its_answer_is_never_predicted(
    passage_data,
):
    tasks, data = passage_data
    registry = get_registry()
    task_type = build_task_type("qa", TaskConfig(**tasks["qa"]))
    split = TokenizedSplit.from_dataset(data["qa"]["validation_features"])
    questions = len(data["qa"]["validation_examples"])
    # Logits that never pick a context token decode to "" for every question.
    outputs = [np.zeros((int(n), 2), np.float32) for n in split.seq_lengths]
    for o in outputs:
        o[1:] = -50.0
    predictions, references = task_type.decode(split, outputs)
    assert len(predictions) == questions  # per question, never per window
    assert len(split) > questions
    em = registry.get("metric", "exact_match")(predictions, references)
    assert em == 0.0
    # A limit that ends inside a question's windows scores only the whole questions.
    rows = [int(r) for r in split.rows]
    cut = next(w for w in range(1, len(rows)) if rows[w] == rows[w - 1])
    predictions, _ = task_type.decode(split, outputs[:cut])
    assert len(predictions) == len(set(rows[:cut])) - 1
    predictions, _ = task_type.decode(split, outputs[: cut + 1])
    assert len(predictions) == len(set(rows[: cut + 1])) - (rows[cut + 1 : cut + 2] == [rows[cut]])


def test_no_answer_threshold(tmp_path, tiny_encoder_dir):
    from mtl_pipeline.encoders import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_encoder_dir))
    context = "alpha beta gamma delta"
    path = _squad_file(tmp_path, context, [{"text": "gamma", "answer_start": 11}])
    task_type, _, split = _windows(_span_task(path), tokenizer)
    outputs = [np.zeros((int(split.seq_lengths[0]), 2), np.float32)]
    s, e = split.labels[0]
    outputs[0][s, 0] = outputs[0][e, 1] = 2.0  # span score 4
    outputs[0][0] = 3.0  # null score 6
    assert task_type.decode(split, outputs)[0].tolist() == ["gamma"]
    strict = build_task_type("qa", _span_task(path, allow_no_answer=True, null_score_threshold=1.0))
    assert strict.decode(split, outputs)[0].tolist() == [""]  # 6 - 4 > 1
    lenient = build_task_type(
        "qa", _span_task(path, allow_no_answer=True, null_score_threshold=3.0)
    )
    assert lenient.decode(split, outputs)[0].tolist() == ["gamma"]


# --- bad SQuAD files ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", r"line 1: not valid JSON"),
        (json.dumps({"version": "1.1"}), r"field 'data' is missing"),
        (
            json.dumps({"data": [{"title": "A", "paragraphs": [{"qas": []}]}]}),
            r"article 0 \('A'\): paragraph 0: field 'context' is missing",
        ),
        (
            json.dumps(
                {
                    "data": [
                        {
                            "title": "A",
                            "paragraphs": [
                                {"context": "c", "qas": [{"id": "x1", "question": "q?"}]}
                            ],
                        }
                    ]
                }
            ),
            r"question 'x1': field 'answers' is missing",
        ),
        (
            json.dumps(
                {
                    "data": [
                        {
                            "title": "A",
                            "paragraphs": [
                                {
                                    "context": "c",
                                    "qas": [
                                        {
                                            "id": "x1",
                                            "question": "q?",
                                            "answers": [{"text": "c", "answer_start": "0"}],
                                        }
                                    ],
                                }
                            ],
                        }
                    ]
                }
            ),
            r"question 'x1': answers\[0\]: field 'answer_start': expected a character offset",
        ),
    ],
)
def test_malformed_squad_json_names_article_question_and_field(tmp_path, content, expected):
    path = tmp_path / "squad.json"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(DataError, match=expected):
        ingest("qa", _span_task(path), None, None, 0, overlap="allow")


def test_answer_start_outside_or_at_other_text(tmp_path):
    context = "The cat sat on the mat."
    path = _squad_file(tmp_path, context, [{"text": "mat", "answer_start": 40}])
    with pytest.raises(
        DataError, match=r"question 'q1': field answers\[0\]: field answer_start: 40"
    ):
        ingest("qa", _span_task(path), None, None, 0, overlap="allow")
    path = _squad_file(tmp_path, context, [{"text": "mat", "answer_start": 4}])
    with pytest.raises(
        DataError, match=r"answer_start: 4 points at 'cat', not at the answer text 'mat'"
    ):
        ingest("qa", _span_task(path), None, None, 0, overlap="allow")


# --- training, head sharing, save -> load --------------------------------------------------------
def test_head_sharing_trains_one_head_for_two_tasks(passage_root, tiny_encoder_dir):
    from mtl_pipeline.training.run import run_training

    tasks, data = build_passage_task_data(passage_root, tiny_encoder_dir, names=["emo"])
    tasks["emo2"] = dict(tasks["emo"]) | {"head": {**tasks["emo"]["head"], "share_with": "emo"}}
    data["emo2"] = data["emo"]
    model, training = tiny_training_params(tiny_encoder_dir, max_steps=2, tasks_per_step=2)
    trained, _ = run_training(model, training, tasks, data)
    heads = trained.architecture.heads
    assert heads["emo2"] is heads["emo"]
    # the shared head appears once among the trainable parameters
    params = list(trained.architecture.parameters())
    assert len({id(p) for p in params}) == len(params)
    # a different label set cannot share
    tasks["emo2"] = dict(tasks["emo2"]) | {"labels": ["joy", "anger", "fear", "calm"]}
    data["emo2"] = {
        **data["emo"],
        "label_info": {**data["emo"]["label_info"], "labels": ["joy", "anger", "fear", "calm"]},
    }
    with pytest.raises(ConfigError, match=r"tasks\.emo2\.head\.share_with: .*same labels"):
        run_training(model, training, tasks, data)


def test_train_save_load_identical_predictions(passage_data, tiny_encoder_dir, tmp_path):
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel
    from mtl_pipeline.training.run import run_training

    tasks, data = passage_data
    tasks = {n: dict(c) for n, c in tasks.items()}
    tasks["emo"]["head"] = {**tasks["emo"]["head"], "threshold_tuning": "per_label"}
    model, training = tiny_training_params(tiny_encoder_dir, max_steps=4, tasks_per_step=2)
    trained, history = run_training(model, training, tasks, data)
    scores = history["evaluations"][-1]["metrics"]
    assert set(scores["qa"]) == {"f1", "exact_match"} and set(scores["copa"]) == {"accuracy"}
    assert set(scores["emo"]) == {"micro_f1", "macro_f1", "accuracy"}
    assert len(history["decisions"]["emo"]["threshold"]) == 4
    inputs = {
        "qa": [("Where did the museum open?", "It opened in Oslo in 1950, long ago.")],
        "emo": ["what a lovely happy day", "I am scared"],
        "copa": [("The man dropped the glass.", "effect", "It broke.", "It sang.")],
        "swag": [("The man dropped the glass.", ["a", "b", "c", "d"])],
    }
    before = {t: trained.predict(t, x) for t, x in inputs.items()}
    trained.save(tmp_path / "model")
    loaded = MultiTaskModel.load(tmp_path / "model")
    after = {t: loaded.predict(t, x) for t, x in inputs.items()}
    assert after == before
    answer = before["qa"][0]
    context = inputs["qa"][0][1]
    assert context[answer["start"] : answer["end"]] == answer["text"]
    assert math.isclose(sum(before["copa"][0]["probabilities"]), 1.0, abs_tol=1e-5)
    assert len(before["copa"][0]["probabilities"]) == 2
    assert len(before["swag"][0]["probabilities"]) == 4
    assert before["copa"][0]["text"] in ("It broke.", "It sang.")
    assert set(before["emo"][0]["probabilities"]) == {"joy", "anger", "fear", "neutral"}
    assert loaded.tasks["emo"].head["threshold"] == history["decisions"]["emo"]["threshold"]
    # `kedro mtl predict` / the predict pipeline: natural outputs as columns
    import pandas as pd

    from mtl_pipeline.pipelines.predict.nodes import predict_frame

    frame = pd.DataFrame(
        {
            "_row": [4],
            "premise": ["The man dropped the glass."],
            "question": ["effect"],
            "choice1": ["It broke."],
            "choice2": ["It sang."],
        }
    )
    out = predict_frame(loaded, "copa", frame, ["premise", "question"])
    assert out["predicted"].tolist() == [before["copa"][0]["text"]]
    assert json.loads(out["predicted_probabilities"][0]) == before["copa"][0]["probabilities"]
    # a list column of choices (JSON Lines, Parquet) is read as the list it is
    swag = pd.DataFrame({"_row": [1], "premise": [inputs["swag"][0][0]], "endings": [list("abcd")]})
    out = predict_frame(loaded, "swag", swag, ["premise"])
    assert json.loads(out["predicted_probabilities"][0]) == before["swag"][0]["probabilities"]
    with pytest.raises(DataError, match=r"line 1: field 'endings': item 2 is empty"):
        predict_frame(loaded, "swag", swag.assign(endings=[["a", " ", "c", "d"]]), ["premise"])
    qa = pd.DataFrame({"_row": [2], "question": [inputs["qa"][0][0]], "context": [context]})
    out = predict_frame(loaded, "qa", qa, ["question", "context"])
    assert out[["predicted", "predicted_start", "predicted_end"]].values.tolist() == [
        [answer["text"], answer["start"], answer["end"]]
    ]
    card = (tmp_path / "model" / "README.md").read_text()
    for name in ("qa", "emo", "copa", "span_extraction", "multi_label", "multiple_choice"):
        assert name in card


# --- configuration time: head sharing and the architecture's say --------------------------------
@pytest.fixture(scope="module")
def base_params():
    from mtl_pipeline.config_loader import ProjectConfigLoader
    from tests.conftest import REPO

    loader = ProjectConfigLoader(
        conf_source=str(REPO / "conf"),
        base_env="base",
        default_run_env="local",
        merge_strategy={"parameters": "soft"},
    )
    return json.loads(json.dumps(dict(loader["parameters"])))


def test_head_sharing_is_checked_before_any_data_is_read(base_params):
    from mtl_pipeline.validation import validate_parameters

    def with_share(target, architecture=None):
        params = json.loads(json.dumps(base_params))
        params["tasks"]["sst2"]["head"] = {"share_with": target}
        if architecture:
            params["model"]["architecture"] = architecture
        return params

    validate_parameters(with_share("cola"))  # same type: accepted here
    with pytest.raises(ConfigError, match=r"tasks\.sst2\.head\.share_with: 'nope' is not another"):
        validate_parameters(with_share("nope"))
    with pytest.raises(
        ConfigError,
        match=r"'sst2' \(classification\) cannot share the head of 'stsb' \(regression\)",
    ):
        validate_parameters(with_share("stsb"))
    per_task = {"name": "per_task", "base": {"name": "hard_sharing"}}
    with pytest.raises(
        ConfigError,
        match=r"architecture 'per_task' gives every task its own model, so task 'sst2' \(classification\)",
    ):
        validate_parameters(with_share("cola", per_task))


def test_question_too_long_for_the_window_names_the_record(tmp_path, tiny_encoder_dir):
    from mtl_pipeline.encoders import load_tokenizer

    tokenizer = load_tokenizer(str(tiny_encoder_dir))
    path = _squad_file(
        tmp_path, "alpha beta gamma", [{"text": "beta", "answer_start": 6}], "why " * 30
    )
    with pytest.raises(DataError, match=r"record 1: the question is 30 tokens; expected at most"):
        _windows(_span_task(path), tokenizer, max_length=32)


def test_multi_label_list_column_and_delimited_names(tmp_path):
    jsonl = tmp_path / "train.jsonl"
    jsonl.write_text(
        '{"text": "a", "tags": ["x", "y"]}\n{"text": "b", "tags": []}\n{"text": "c", "tags": ["z"]}\n',
        encoding="utf-8",
    )
    tsv = tmp_path / "dev.tsv"
    tsv.write_text("text\ttags\nd\ty|z\ne\tx|x\n", encoding="utf-8")
    cfg = TaskConfig(
        type="multi_label",
        reader="jsonl",
        train=str(jsonl),
        validation=str(tsv),
        text_fields=["text"],
        label_field="tags",
        metrics=["micro_f1"],
        head={"label_delimiter": "|"},
    )
    # jsonl for train, TSV for validation is not one reader: read them separately.
    from mtl_pipeline.ingestion import build_reader, standardize

    task_type = build_task_type("t", cfg)
    train = standardize(build_reader("t", cfg).read(str(jsonl)), str(jsonl), cfg, task_type)
    assert train["label"].tolist() == [["x", "y"], [], ["z"]]
    assert task_type.build_vocab(train["label"].tolist(), None) == ["x", "y", "z"]
    tsv_cfg = cfg.model_copy(update={"reader": cfg.reader.model_validate("glue_tsv")})
    dev = standardize(build_reader("t", tsv_cfg).read(str(tsv)), str(tsv), tsv_cfg, task_type)
    assert dev["label"].tolist() == [["y", "z"], ["x"]]  # a repeated label counts once
