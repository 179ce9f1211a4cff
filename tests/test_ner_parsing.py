"""The ``ner`` and ``dependency_parsing`` task types: entity metrics through the registered
metrics, scheme conversion at ingestion, well-formed decoding, bad inputs named by file,
sentence and line, and train -> save -> load -> identical predictions for both types.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from mtl_pipeline.config import TaskConfig
from mtl_pipeline.errors import DataError
from mtl_pipeline.ingestion import build_task_type, ingest
from mtl_pipeline.registry import get_registry
from mtl_pipeline.spans.span_f1 import TagSequence
from tests.ner_parse_data import UD, UNER, ner_config, parse_config


def _sentences(values):
    out = np.empty(len(values), dtype=object)
    for i, v in enumerate(values):
        out[i] = TagSequence(v)
    return out


# --- entity metrics: expected numbers written out by hand -------------------------------------
def test_entity_metrics_follow_conlleval_on_hand_made_cases():
    gold = _sentences(
        [
            ["B-PER", "I-PER", "O", "B-LOC"],
            ["B-ORG", "B-ORG", "O"],  # two adjacent entities of one type
            ["O", "O", "B-PER"],  # an entity at the sentence end
        ]
    )
    predicted = _sentences(
        [
            ["I-PER", "I-PER", "O", "B-LOC"],  # I- with no B-: starts PER(0, 1): right
            ["B-ORG", "I-ORG", "O"],  # one ORG(0, 1): matches neither gold ORG
            ["O", "O", "I-PER"],  # PER(2, 2) at the end: right
        ]
    )
    # gold: PER(0,1) LOC(3,3) | ORG(0,0) ORG(1,1) | PER(2,2) = 5 entities
    # predicted: PER(0,1) LOC(3,3) | ORG(0,1) | PER(2,2) = 4; correct 3
    registry = get_registry()
    assert registry.get("metric", "entity_precision")(predicted, gold) == pytest.approx(3 / 4)
    assert registry.get("metric", "entity_recall")(predicted, gold) == pytest.approx(3 / 5)
    assert registry.get("metric", "f1")(predicted, gold) == pytest.approx(2 / 3)  # 2PR/(P+R)
    from mtl_pipeline.spans.span_f1 import span_scores

    per_type = span_scores(list(predicted), list(gold))
    assert per_type["PER"].f1 == 1.0 and per_type["LOC"].f1 == 1.0
    assert per_type["ORG"].correct == 0 and per_type["ORG"].gold == 2


def test_entity_f1_equals_seqeval_default_mode():
    import seqeval.metrics as seqeval  # a test dependency (pyproject `test` extra)

    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "B-ORG", "O"], ["O", "O", "B-PER"]]
    pred = [["I-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "I-ORG", "O"], ["O", "I-LOC", "I-PER"]]
    ours = get_registry().get("metric", "f1")(_sentences(pred), _sentences(gold))
    assert ours == pytest.approx(seqeval.f1_score(gold, pred))


def test_entity_metrics_fit_only_ner_and_attachment_only_parsing():
    registry = get_registry()
    ner, parsing = registry.get("task_type", "ner"), registry.get("task_type", "dependency_parsing")
    tagging = registry.get("task_type", "tagging")
    assert registry.get("metric", "f1").fits(ner)
    assert not registry.get("metric", "token_accuracy").fits(ner)
    assert not registry.get("metric", "entity_recall").fits(tagging)
    assert registry.get("metric", "uas").fits(parsing) and not registry.get("metric", "uas").fits(
        ner
    )
    assert not registry.get("metric", "f1").fits(parsing)


# --- NER: scheme conversion, decoding, offsets ----------------------------------------------
def _ner_task(**head):
    return build_task_type(
        "ner", TaskConfig(**_ner_cfg(UNER / "train.iob2", UNER / "dev.iob2", head))
    )


def _ner_cfg(train, validation, head=None):
    return ner_config(train, validation, head)


def test_ner_converts_iob2_files_to_bioes_with_the_full_tag_set():
    train, _, info = ingest(
        "ner",
        TaskConfig(**_ner_cfg(UNER / "train.iob2", UNER / "dev.iob2", {"scheme": "bioes"})),
        None,
        None,
        0,
    )
    assert info["labels"] == ["O"] + [f"{p}-{t}" for t in ("LOC", "ORG", "PER") for p in "BIES"]
    tags = [t for sentence in train["tags"] for t in sentence]
    assert {t[0] for t in tags} <= {"O", "B", "I", "E", "S"} and any(
        t.startswith("S-") for t in tags
    )


def test_ner_types_listed_in_labels_need_not_show_every_tag_in_training(tmp_path):
    cfg = _ner_cfg(UNER / "train.iob2", UNER / "dev.iob2", {"scheme": "bioes"})
    _, _, info = ingest(
        "ner", TaskConfig(**{**cfg, "labels": ["PER", "LOC", "ORG", "MISC"]}), None, None, 0
    )
    assert "S-MISC" in info["labels"] and "E-MISC" in info["labels"]  # never in the data
    with pytest.raises(
        DataError,
        match=r"train.iob2: line 4 \(the sentence's first line\): field tags: tag 'S-LOC' of word 4 ",
    ):
        ingest("ner", TaskConfig(**{**cfg, "labels": ["PER", "ORG"]}), None, None, 0)


def test_ner_decoding_never_puts_an_i_after_o():
    task = _ner_task(scheme="iob2")
    task.options.tag_set = ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"]
    rng = np.random.default_rng(0)
    for _ in range(200):
        words = int(rng.integers(1, 8))
        logits = rng.normal(size=(words + 2, 5)) * 3
        tags = task.tags_of(logits, list(range(1, words + 1)), words)
        for previous, tag in zip(["O", *tags], tags, strict=False):
            if tag.startswith("I-"):
                assert previous[2:] == tag[2:] and previous != "O", (previous, tag)
    # A per-word argmax of "O I-PER" is repaired, never emitted.
    logits = np.log(np.array([[0.9, 0.05, 0.03, 0.01, 0.01], [0.1, 0.2, 0.7, 0.0, 0.0]]) + 1e-9)
    assert task.tags_of(logits, [0, 1], 2) in (["O", "B-PER"], ["B-PER", "I-PER"])


def test_entities_carry_type_offsets_and_text():
    from mtl_pipeline.task_types.ner import entities

    words = ["Ann", "met", "New", "York"]
    found = entities(words, ["B-PER", "O", "B-LOC", "I-LOC"])
    assert found == [
        {"type": "PER", "start": 0, "end": 3, "text": "Ann", "words": [0, 0]},
        {"type": "LOC", "start": 8, "end": 16, "text": "New York", "words": [2, 3]},
    ]
    text = "Ann  met New   York"
    found = entities(words, ["B-PER", "O", "B-LOC", "I-LOC"], text, [0, 5, 9, 15])
    assert [text[e["start"] : e["end"]] for e in found] == ["Ann", "New   York"]


# --- bad inputs: file, sentence id and line ----------------------------------------------------
def _read_ner(tmp_path, text, **options):
    from mtl_pipeline.readers.conll_ner import ConllNerReader

    path = tmp_path / "bad.iob2"
    path.write_text(text, encoding="utf-8")
    return str(path), ConllNerReader(ConllNerReader.parse_options(options, "reader")).read(
        str(path)
    )


UNER_SENTENCE = "# sent_id = doc-1\n# text = Ann met Bob\n1\tAnn\tB-PER\t-\t-\n2\tmet\tO\t-\t-\n3\tBob\tB-PER\t-\t-\n"


def test_conll_ner_reads_uner_and_wnut_layouts(tmp_path):
    _, frame = _read_ner(tmp_path, UNER_SENTENCE + "\n" + UNER_SENTENCE.replace("doc-1", "doc-2"))
    assert frame["tokens"].tolist() == [["Ann", "met", "Bob"]] * 2
    assert frame["tags"].tolist() == [["B-PER", "O", "B-PER"]] * 2
    assert frame["sent_id"].tolist() == ["doc-1", "doc-2"] and frame["_row"].tolist() == [3, 9]
    _, frame = _read_ner(tmp_path, "1\tO\n@bob\tB-person\n\t\n#tbt\tO\nhi\tO\n")
    assert frame["tokens"].tolist() == [["1", "@bob"], ["#tbt", "hi"]]  # a hashtag, no comment
    assert frame["tags"].tolist() == [["O", "B-person"], ["O", "O"]]
    assert frame["sent_id"].tolist() == ["1", "2"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            UNER_SENTENCE.replace("2\tmet\tO\t-\t-", "2\tmet"),
            r"bad.iob2: sentence doc-1: line 4: expected at least 3 tab-separated fields",
        ),
        (
            UNER_SENTENCE.replace("3\tBob", "4\tBob"),
            r"bad.iob2: sentence doc-1: line 5: field 1 \(word index\): expected 3, found '4'",
        ),
        (
            UNER_SENTENCE.replace("B-PER\t-\t-\n2", " \t-\t-\n2"),
            r"bad.iob2: sentence doc-1: line 3: the tag field is empty",
        ),
        ("a\tO\nb\n", r"bad.iob2: sentence #1 \(no sent_id\): line 2: expected at least 2"),
    ],
)
def test_conll_ner_bad_lines_name_file_sentence_and_line(tmp_path, text, message):
    with pytest.raises(DataError, match=message):
        _read_ner(tmp_path, text)


def test_ner_tag_outside_the_scheme_names_file_sentence_and_line(tmp_path):
    bad = tmp_path / "bad.iob2"
    bad.write_text(UNER_SENTENCE.replace("3\tBob\tB-PER", "3\tBob\tS-PER"), encoding="utf-8")
    with pytest.raises(
        DataError,
        match=r"bad.iob2: sentence doc-1: line 5: field tags: tag 'S-PER' of word 3: expected O "
        r"or a B/I-<TYPE> tag of the IOB2 scheme",
    ):
        ingest("ner", TaskConfig(**_ner_cfg(bad, UNER / "dev.iob2")), None, None, 0)


def test_parsing_sentence_without_heads_names_file_sentence_and_line(tmp_path):
    good = (UD / "dev.conllu").read_text(encoding="utf-8").split("\n\n")[0] + "\n\n"
    bad = tmp_path / "bad.conllu"
    bad.write_text(
        good + "# sent_id = nohead\n1\tHi\thi\tINTJ\tUH\t_\t_\t_\t_\t_\n", encoding="utf-8"
    )
    cfg = TaskConfig(**_parse_cfg(bad, UD / "dev.conllu"))
    lines = good.count("\n")
    with pytest.raises(
        DataError,
        match=rf"bad.conllu: sentence nohead: line {lines + 2}: field HEAD: `_` for every word",
    ):
        ingest("deps", cfg, None, None, 0)


def _parse_cfg(train, validation, head=None):
    return parse_config(train, validation, head)


# --- parsing: decoding and metrics through the task type ---------------------------------------
def test_parser_decodes_the_gold_tree_its_scores_favour_and_scores_it():
    from mtl_pipeline.task_types.dependency_parsing import (
        DependencyParsingTask,
        TreePrediction,
        TreeReference,
        attachment_of,
    )

    relations = ["nsubj", "obj", "punct", "root"]
    task = DependencyParsingTask(DependencyParsingTask.parse_options({"relations": relations}, "h"))
    gold_heads, gold_rels = [2, 0, 2, 2], ["nsubj", "root", "obj", "punct"]
    starts = [1, 2, 4, 5]  # word 3 has two sub-words (positions 3, 4)
    length = 7
    rng = np.random.default_rng(1)
    output = rng.normal(size=(length, length * (1 + len(relations))))
    arcs = output[:, :length]
    rels = output[:, length:].reshape(length, length, len(relations))
    positions = [0, *starts]
    for word, (head, rel) in enumerate(zip(gold_heads, gold_rels, strict=True)):
        arcs[starts[word], positions[head]] += 20
        rels[starts[word], positions[head], relations.index(rel)] += 20
    output = np.concatenate([arcs, rels.reshape(length, -1)], axis=1)
    heads, predicted_rels = task.parse(output, starts, 4)
    assert heads == gold_heads and predicted_rels == gold_rels
    # Punctuation counts by default; excluded, the wrong punct head does not count.
    wrong = ([2, 0, 2, 1], ["nsubj", "root", "nsubj", "punct"])
    ref = TreeReference(gold_heads, gold_rels, ["PRON", "VERB", "PRON", "PUNCT"], False)
    scores = attachment_of([TreePrediction(*wrong)], [ref])
    assert (scores.uas, scores.las) == (0.75, 0.5)
    scores = attachment_of([TreePrediction(*wrong)], [ref._replace(exclude_punct=True)])
    assert (scores.uas, scores.las) == (1.0, 2 / 3)


def test_parser_loss_prefers_the_gold_heads():
    import torch

    from mtl_pipeline.task_types.base import IGNORE_INDEX
    from mtl_pipeline.task_types.dependency_parsing import DependencyParsingTask

    task = DependencyParsingTask(DependencyParsingTask.parse_options({}, "h"))
    relations, length = 3, 4
    # words at positions 1, 2; word 1 <- word 2 (position 2), word 2 <- ROOT; relations 0, 2
    labels = torch.tensor(
        [[IGNORE_INDEX, 2 * (relations + 1) + 0, 0 * (relations + 1) + 2, IGNORE_INDEX]]
    )
    arcs, rels = torch.zeros(1, length, length), torch.zeros(1, length, length, relations)
    arcs[0, 1, 2] = arcs[0, 2, 0] = 10.0
    rels[0, 1, 2, 0] = rels[0, 2, 0, 2] = 10.0
    good = torch.cat([arcs, rels.reshape(1, length, -1)], dim=-1)
    arcs = torch.zeros(1, length, length)
    arcs[0, 1, 0] = arcs[0, 2, 1] = 10.0
    bad = torch.cat([arcs, rels.reshape(1, length, -1)], dim=-1)
    assert task.loss(good, labels) < 0.01 < task.loss(bad, labels)


# --- end to end: both types train, save, load and predict identically --------------------------
@pytest.fixture(scope="module")
def ner_parse_data(tiny_encoder_dir, tmp_path_factory):
    from tests.ner_parse_data import build_ner_parse_data

    return build_ner_parse_data(tmp_path_factory.mktemp("np"), tiny_encoder_dir)


@pytest.mark.parametrize("architecture", ["hard_sharing", "hierarchical"])
def test_ner_and_parsing_train_save_load_identical_predictions(
    ner_parse_data, tiny_encoder_dir, tmp_path, architecture
):
    from mtl_pipeline.modeling.multitask_model import MultiTaskModel
    from mtl_pipeline.readers.conllu import ConlluReader
    from mtl_pipeline.task_types.dependency_parsing import predictions_to_conllu
    from mtl_pipeline.training.run import run_training
    from tests.conftest import tiny_training_params

    tasks, data = ner_parse_data
    model, training = tiny_training_params(tiny_encoder_dir, max_steps=4, tasks_per_step=2)
    if architecture == "hierarchical":
        model["architecture"] = {"name": "hierarchical", "task_layers": {"ner": 1, "deps": 2}}
    trained, history = run_training(model, training, tasks, data)
    scores = history["evaluations"][-1]["metrics"]
    assert set(scores["ner"]) == {"f1", "entity_precision", "entity_recall"}
    assert set(scores["deps"]) == {"uas", "las"}
    assert all(0.0 <= v <= 1.0 for task in scores.values() for v in task.values())
    inputs = {
        "ner": [["Ann", "lives", "in", "New", "York"], "Bob  went to   Paris ."],
        "deps": [["Ann", "lives", "in", "New", "York"], "Bob went ."],
    }
    before = {t: trained.predict(t, x) for t, x in inputs.items()}
    trained.save(tmp_path / "model")
    loaded = MultiTaskModel.load(tmp_path / "model")
    after = {t: loaded.predict(t, x) for t, x in inputs.items()}
    assert after == before
    text = inputs["ner"][1]
    assert before["ner"][1]["tags"] and len(before["ner"][1]["tags"]) == 5
    for entity in before["ner"][1]["entities"]:
        assert text[entity["start"] : entity["end"]] == entity["text"]
    from mtl_pipeline.parsing.tree_decoding import is_tree

    for parse, words in zip(before["deps"], (inputs["deps"][0], ["Bob", "went", "."]), strict=True):
        assert parse["words"] == words and is_tree(parse["heads"])
    out = tmp_path / "pred.conllu"
    out.write_text(predictions_to_conllu(before["deps"]), encoding="utf-8")
    frame = ConlluReader(ConlluReader.parse_options({}, "r")).read(str(out))
    assert frame["heads"].tolist() == [p["heads"] for p in before["deps"]]
    assert frame["deprel"].tolist() == [p["relations"] for p in before["deps"]]


def test_predicted_trees_write_as_conllu_and_other_tasks_are_refused(
    ner_parse_data, tiny_encoder_dir, tmp_path
):
    from mtl_pipeline.pipelines.predict.nodes import predict_frame, read_input
    from mtl_pipeline.pipelines.predict.table_dataset import read_table, write_table
    from mtl_pipeline.training.run import run_training
    from tests.conftest import tiny_training_params

    tasks, data = ner_parse_data
    model, training = tiny_training_params(tiny_encoder_dir, max_steps=2, tasks_per_step=2)
    trained, _ = run_training(model, training, tasks, data)
    source = tasks["deps"]["validation"]
    frame = read_input(source)
    result = predict_frame(trained, "deps", frame, ["tokens"], source=source)
    write_table(result, tmp_path / "out.conllu")
    back = read_table(tmp_path / "out.conllu")
    assert back["tokens"].tolist() == frame["tokens"].tolist()
    assert back["heads"].tolist() == [json.loads(h) for h in result["predicted"]]
    assert back["sent_id"].tolist() == [str(r) for r in frame["_row"]]
    ner = predict_frame(trained, "ner", frame, ["tokens"], source=source)
    assert (
        json.loads(ner["predicted"][0])
        == trained.predict("ner", [frame["tokens"][0]])[0]["entities"]
    )
    with pytest.raises(DataError, match=r"out2.conllu: CoNLL-U output holds dependency trees"):
        write_table(ner, tmp_path / "out2.conllu")
    assert not (tmp_path / "out2.conllu").exists()
