"""Entity spans: conlleval chunking, scheme conversion, well-formed decoding, span F1.

Expected numbers are worked out by hand from conlleval's rules (an entity is correct only
with the gold start, end and type; counts are summed over sentences).
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mtl_pipeline.spans.constrained_decoding import decode
from mtl_pipeline.spans.schemes import convert, label_set, spans, tags_from_spans
from mtl_pipeline.spans.span_f1 import span_scores


@pytest.mark.parametrize(
    ("tags", "expected"),
    [
        (["B-PER", "I-PER", "O"], [("PER", 0, 1)]),
        # an I- with no B- starts an entity (conlleval), also at the sentence start
        (["O", "I-PER", "I-PER"], [("PER", 1, 2)]),
        (["I-LOC", "O"], [("LOC", 0, 0)]),
        # adjacent entities of one type: B- separates them
        (["B-PER", "B-PER", "I-PER"], [("PER", 0, 0), ("PER", 1, 2)]),
        # a type change inside an entity ends it and starts another
        (["B-PER", "I-LOC", "I-LOC"], [("PER", 0, 0), ("LOC", 1, 2)]),
        # an entity at the sentence end is closed
        (["O", "O", "B-ORG"], [("ORG", 2, 2)]),
        # BIOES
        (["S-PER", "B-LOC", "I-LOC", "E-LOC", "O"], [("PER", 0, 0), ("LOC", 1, 3)]),
        (["B-LOC", "E-LOC", "E-LOC"], [("LOC", 0, 1), ("LOC", 2, 2)]),
        # IO without prefixes, as some files write it
        (["PER", "PER", "O", "LOC"], [("PER", 0, 1), ("LOC", 3, 3)]),
        (["O", "O"], []),
    ],
)
def test_spans_follow_conlleval(tags, expected):
    assert spans(tags) == expected


def test_span_f1_hand_worked():
    gold = [
        ["B-PER", "I-PER", "O", "B-LOC"],  # PER(0,1) LOC(3,3)
        ["B-PER", "B-PER", "O"],  # PER(0,0) PER(1,1)
        ["O", "B-ORG", "I-ORG"],  # ORG(1,2)
    ]
    predicted = [
        ["B-PER", "I-PER", "O", "B-ORG"],  # PER right; ORG(3,3) wrong type
        ["B-PER", "I-PER", "O"],  # PER(0,1): adjacent entities merged -> wrong
        ["O", "I-ORG", "I-ORG"],  # I- without B-: ORG(1,2) -> right
    ]
    scores = span_scores(predicted, gold)
    # gold 5, predicted 4, correct 2
    overall = scores["overall"]
    assert (overall.correct, overall.predicted, overall.gold) == (2, 4, 5)
    assert overall.precision == pytest.approx(0.5)
    assert overall.recall == pytest.approx(0.4)
    assert overall.f1 == pytest.approx(2 * 0.5 * 0.4 / 0.9)
    assert (scores["PER"].correct, scores["PER"].predicted, scores["PER"].gold) == (1, 2, 3)
    assert scores["LOC"].recall == 0.0 and scores["LOC"].predicted == 0
    assert scores["ORG"].precision == pytest.approx(0.5) and scores["ORG"].recall == 1.0


def test_span_f1_counts_an_entity_at_the_sentence_end():
    scores = span_scores([["O", "B-PER"]], [["O", "B-PER"]])
    assert scores["overall"].f1 == 1.0


@pytest.mark.parametrize("scheme", ["iob1", "iob2", "bioes"])
def test_conversion_round_trips_spans(scheme):
    tags = ["B-PER", "I-PER", "B-PER", "O", "I-LOC", "B-ORG", "I-ORG", "I-ORG"]
    assert spans(convert(tags, scheme)) == spans(tags)


def test_conversion_targets():
    tags = ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]
    assert convert(tags, "bioes") == ["B-PER", "E-PER", "S-PER", "O", "S-LOC"]
    assert convert(tags, "iob1") == ["I-PER", "I-PER", "B-PER", "O", "I-LOC"]
    assert convert(tags, "io") == ["I-PER", "I-PER", "I-PER", "O", "I-LOC"]


def test_overlapping_spans_are_refused():
    with pytest.raises(ValueError, match="overlaps"):
        tags_from_spans(3, [("PER", 0, 1), ("LOC", 1, 2)], "iob2")


def _well_formed(tags, scheme):
    """No I- after O (or at the start) in IOB2; BIOES sequences open and close properly."""
    previous = "O"
    for tag in tags:
        if scheme == "iob2" and tag.startswith("I-"):
            assert previous[2:] == tag[2:] and previous[0] in "BI", (previous, tag)
        if scheme == "bioes" and tag[0] in "IE":
            assert previous[0] in "BI" and previous[2:] == tag[2:], (previous, tag)
        if scheme == "bioes" and previous[0] in "BI":
            assert tag[0] in "IE" and tag[2:] == previous[2:], (previous, tag)
        previous = tag
    if scheme == "bioes":
        assert previous[0] in "OES"


@settings(max_examples=60, deadline=None)
@given(st.data())
def test_constrained_decoding_is_always_well_formed(data):
    scheme = data.draw(st.sampled_from(["iob2", "bioes"]))
    labels = label_set(["PER", "LOC"], scheme)
    words = data.draw(st.integers(1, 12))
    scores = np.array(
        data.draw(
            st.lists(
                st.lists(st.floats(-20, 5), min_size=len(labels), max_size=len(labels)),
                min_size=words,
                max_size=words,
            )
        )
    )
    _well_formed(decode(scores, labels, scheme), scheme)


def test_constrained_decoding_is_the_best_allowed_sequence():
    """Exhaustive check on small cases: Viterbi's choice has the best allowed total."""
    rng = np.random.default_rng(0)
    labels = label_set(["PER", "LOC"], "iob2")
    for _ in range(20):
        scores = rng.normal(size=(4, len(labels)))
        best = max(
            (
                seq
                for seq in itertools.product(range(len(labels)), repeat=4)
                if _allowed_iob2([labels[i] for i in seq])
            ),
            key=lambda seq: sum(scores[w, i] for w, i in enumerate(seq)),
        )
        assert decode(scores, labels, "iob2") == [labels[i] for i in best]


def _allowed_iob2(tags):
    previous = "O"
    for tag in tags:
        if tag.startswith("I-") and not (previous[0] in "BI" and previous[2:] == tag[2:]):
            return False
        previous = tag
    return True


def test_constrained_decoding_fixes_an_i_after_o():
    labels = ["O", "B-PER", "I-PER"]
    # argmax would say O I-PER; the best allowed sequence is O B-PER or O O
    scores = np.log(np.array([[0.9, 0.05, 0.05], [0.3, 0.25, 0.45]]))
    assert decode(scores, labels, "iob2") == ["O", "O"]
    assert np.argmax(scores, axis=1).tolist() == [0, 2]
