"""Dependency trees: the decoder returns a single-rooted tree, the best one; UAS/LAS by hand;
CoNLL-U output reads back."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_pipeline.parsing.attachment_scores import attachment_scores
from mtl_pipeline.parsing.conllu_output import format_conllu
from mtl_pipeline.parsing.tree_decoding import decode_tree, is_tree, tree_problem


def _brute_force(scores: np.ndarray) -> tuple[float, list[int]]:
    n = scores.shape[0] - 1
    best = (-np.inf, [])
    for heads in itertools.product(range(n + 1), repeat=n):
        if is_tree(list(heads)):
            total = sum(scores[h, d] for d, h in enumerate(heads, start=1))
            best = max(best, (total, list(heads)))
    return best


@settings(max_examples=80, deadline=None)
@given(st.integers(1, 40), st.integers(0, 2**31 - 1))
def test_decoder_returns_a_single_rooted_tree(words, seed):
    scores = np.random.default_rng(seed).normal(size=(words + 1, words + 1)) * 5
    heads = decode_tree(scores)
    assert len(heads) == words
    assert tree_problem(heads) is None


@pytest.mark.parametrize("seed", range(40))
def test_decoder_finds_the_best_tree(seed):
    rng = np.random.default_rng(seed)
    words = int(rng.integers(1, 6))
    scores = rng.normal(size=(words + 1, words + 1))
    if seed % 2:  # make several words prefer the root, the case the constraint is for
        scores[0, 1:] += 3
    best_total, _ = _brute_force(scores)
    heads = decode_tree(scores)
    total = sum(scores[h, d] for d, h in enumerate(heads, start=1))
    assert total == pytest.approx(best_total)


def test_decoder_returns_the_gold_tree_when_the_scores_favour_it():
    gold = [2, 0, 2, 5, 3, 5]  # non-projective: 4 -> 5 crosses 3 -> 5? kept generic
    scores = np.zeros((7, 7))
    for dependent, head in enumerate(gold, start=1):
        scores[head, dependent] = 10.0
    assert decode_tree(scores) == gold


def test_decoder_breaks_a_cycle_the_greedy_heads_form():
    scores = np.full((4, 4), -5.0)
    scores[2, 1] = scores[1, 2] = 10.0  # 1 and 2 each want the other
    scores[0, 1], scores[0, 2], scores[0, 3] = 1.0, 0.5, 3.0  # 3 also wants the root
    scores[1, 3] = 2.0
    heads = decode_tree(scores)
    assert is_tree(heads)
    assert heads == [0, 1, 1]  # one root child; 3 gives up its root arc


def test_tree_problems_are_named():
    assert "outside the sentence" in tree_problem([0, 7])
    assert "form a cycle" in tree_problem([0, 3, 2])
    assert "2 words attach to the root" in tree_problem([0, 0])
    assert "its own head" in tree_problem([1])


def test_attachment_scores_hand_worked():
    # "She reads books ." gold: she<-reads(nsubj), reads root, books<-reads(obj), .<-reads(punct)
    gold_heads, gold_rels = [[2, 0, 2, 2]], [["nsubj", "root", "obj", "punct"]]
    upos = [["PRON", "VERB", "NOUN", "PUNCT"]]
    pred_heads = [[2, 0, 1, 2]]  # books attached to she: head wrong
    pred_rels = [["nsubj:pass", "root", "obj", "obl"]]  # subtype ignored; punct label wrong
    scores = attachment_scores(pred_heads, pred_rels, gold_heads, gold_rels, upos)
    assert (scores.uas, scores.las, scores.words) == (0.75, 0.5, 4)
    no_punct = attachment_scores(
        pred_heads, pred_rels, gold_heads, gold_rels, upos, exclude_punct=True
    )
    assert no_punct.uas == pytest.approx(2 / 3) and no_punct.las == pytest.approx(2 / 3)


def test_conllu_output_reads_back(tmp_path):
    from mtl_pipeline.readers.conllu import ConlluReader

    sentences = [["She", "reads", "."], ["Go", "!"]]
    text = format_conllu(
        sentences,
        [[2, 0, 2], [0, 1]],
        [["nsubj", "root", "punct"], ["root", "punct"]],
        upos=[["PRON", "VERB", "PUNCT"], ["VERB", "PUNCT"]],
        sentence_ids=["s1", "s2"],
    )
    path = tmp_path / "out.conllu"
    path.write_text(text)
    frame = ConlluReader(ConlluReader.parse_options({}, "reader")).read(str(path))
    assert frame["tokens"].tolist() == sentences
    assert frame["deprel"].tolist() == [["nsubj", "root", "punct"], ["root", "punct"]]
    assert frame["upos"].tolist() == [["PRON", "VERB", "PUNCT"], ["VERB", "PUNCT"]]


# --- CoNLL-U heads: read, and malformed ones named -------------------------------------------
SENTENCE = (
    "# sent_id = s1\n"
    "1\tShe\tshe\tPRON\tPRP\t_\t2\tnsubj\t_\t_\n"
    "2-3\treads'em\t_\t_\t_\t_\t_\t_\t_\t_\n"
    "2\treads\tread\tVERB\tVBZ\t_\t0\troot\t_\t_\n"
    "3\tem\tthem\tPRON\tPRP\t_\t2\tobj\t_\t_\n"
    "3.1\tx\tx\tX\tX\t_\t_\t_\t2:dep\t_\n"
    "4\t.\t.\tPUNCT\t.\t_\t2\tpunct\t_\t_\n"
)


def _read(tmp_path, text):
    from mtl_pipeline.readers.conllu import ConlluReader

    path = tmp_path / "d.conllu"
    path.write_text(text)
    return str(path), ConlluReader(ConlluReader.parse_options({}, "reader")).read(str(path))


def test_conllu_reads_heads_skipping_multiword_tokens_and_empty_nodes(tmp_path):
    _, frame = _read(tmp_path, SENTENCE)
    assert frame["heads"].tolist() == [[2, 0, 2, 2]]
    assert frame["deprel"].tolist() == [["nsubj", "root", "obj", "punct"]]


def test_conllu_without_heads_gives_none(tmp_path):
    _, frame = _read(tmp_path, "1\tHi\thi\tINTJ\tUH\t_\t_\t_\t_\t_\n")
    assert frame["heads"].tolist() == [None]


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        (
            "\t2\tobj",
            "\tx\tobj",
            r"sentence s1: line 5: field HEAD: expected an integer word ID .* found 'x'",
        ),
        (
            "\t2\tobj",
            "\t9\tobj",
            r"sentence s1: line 5: field HEAD: word 3 has head 9, outside its sentence",
        ),
        ("\t2\tnsubj", "\t3\tnsubj", None),  # fine: she <- em is odd but a tree
        ("\t0\troot", "\t1\troot", r"sentence s1: line 2: field HEAD: .*form a cycle"),
    ],
)
def test_conllu_malformed_heads_name_file_and_line(tmp_path, old, new, message):
    from mtl_pipeline.errors import DataError

    text = SENTENCE.replace(old, new)
    if message is None:
        _read(tmp_path, text)
        return
    with pytest.raises(DataError, match=message) as caught:
        _read(tmp_path, text)
    assert str(caught.value).startswith(str(tmp_path / "d.conllu"))
