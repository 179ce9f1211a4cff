"""Built-in metrics, computed with scikit-learn and scipy (the GLUE reference choices)."""

from __future__ import annotations

import numpy as np

from mtl_pipeline.metrics.base import Metric


def _accuracy(p: np.ndarray, r: np.ndarray) -> float:
    if r.ndim == 2:  # multi-label: exact-set (subset) accuracy, as sklearn's accuracy_score
        return float((p == r).all(axis=1).mean())
    return float((p == r).mean())


def _binary_f1(p: np.ndarray, r: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    from mtl_pipeline.metrics.squad import is_answer_text, squad_f1
    from mtl_pipeline.spans.span_f1 import entity_scores, is_tag_sequences

    if is_tag_sequences(r):  # named entities: conlleval entity-level micro F1
        return entity_scores(p, r).f1
    if is_answer_text(r):  # span extraction: SQuAD token F1 (metrics/squad.py)
        return squad_f1(p, r)

    # GLUE's F1 (MRPC, QQP): positive class is label id 1 (the second label in the vocab).
    ids = np.union1d(p, r)
    if not np.isin(ids, (0, 1)).all():
        # sklearn's "Target is multiclass but average='binary'" does not say which metric
        # of which config is at fault.
        raise ValueError(
            f"metric f1: binary F1 of label id 1 expects label ids 0 and 1, found "
            f"{ids.tolist()}; use macro_f1 for a task with more than two classes."
        )
    return f1_score(r, p, pos_label=1, average="binary", zero_division=0.0)


def _macro_f1(p: np.ndarray, r: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    if r.ndim == 2:  # multi-label indicator rows: mean of the per-label F1s
        return f1_score(r, p, average="macro", zero_division=0.0)
    labels = np.union1d(p, r)
    return f1_score(r, p, labels=labels, average="macro", zero_division=0.0)


def _micro_f1(p: np.ndarray, r: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    if r.ndim == 2:  # multi-label: F1 of all (example, label) decisions pooled
        return f1_score(r, p, average="micro", zero_division=0.0)
    return f1_score(r, p, labels=np.union1d(p, r), average="micro", zero_division=0.0)


def _exact_match(p: np.ndarray, r: np.ndarray) -> float:
    from mtl_pipeline.metrics.squad import is_answer_text, squad_exact_match

    if not is_answer_text(r):
        raise ValueError(
            "metric exact_match: expected answer texts with lists of gold answers "
            "(a span_extraction task); use accuracy for label ids."
        )
    return squad_exact_match(p, r)


def _mcc(p: np.ndarray, r: np.ndarray) -> float:
    from sklearn.metrics import matthews_corrcoef

    return matthews_corrcoef(r, p)


def _correlation(kind: str):
    def compute(p: np.ndarray, r: np.ndarray) -> float:
        from scipy import stats

        p, r = p.astype(np.float64), r.astype(np.float64)
        if np.ptp(p) == 0 or np.ptp(r) == 0:
            return 0.0  # undefined for a constant; 0 is "no linear relation"
        fn = stats.pearsonr if kind == "pearson" else stats.spearmanr
        return float(fn(p, r)[0])

    return compute


def _entity(statistic: str):
    def compute(p: np.ndarray, r: np.ndarray) -> float:
        from mtl_pipeline.spans.span_f1 import entity_scores

        return float(getattr(entity_scores(p, r), statistic))

    return compute


def _attachment(statistic: str):
    def compute(p: np.ndarray, r: np.ndarray) -> float:
        from mtl_pipeline.task_types.dependency_parsing import attachment_of

        return float(getattr(attachment_of(p, r), statistic))

    return compute


_CLASSES = frozenset({"classes"})
_VALUES = frozenset({"values"})
#: Answer texts of span extraction (SQuAD), scored against gold answer lists.
_SPANS = frozenset({"spans"})

BUILTIN_METRICS = [
    Metric(
        "accuracy",
        _accuracy,
        "Fraction of exact matches (multi-label: of examples whose label set is exactly right).",
        predictions=_CLASSES,
    ),
    Metric(
        "f1",
        _binary_f1,
        "Binary F1 of label id 1 (GLUE MRPC/QQP convention); span extraction: SQuAD token F1; "
        "named entities: entity-level micro F1 (conlleval).",
        predictions=_CLASSES | _SPANS | {"entities"},
    ),
    Metric(
        "macro_f1",
        _macro_f1,
        "Unweighted mean of per-class (multi-label: per-label) F1.",
        predictions=_CLASSES,
    ),
    Metric(
        "micro_f1",
        _micro_f1,
        "F1 over all decisions pooled (multi-label: every label).",
        predictions=_CLASSES,
    ),
    Metric(
        "exact_match",
        _exact_match,
        "SQuAD exact match after answer normalization.",
        predictions=_SPANS,
    ),
    Metric("mcc", _mcc, "Matthews correlation coefficient (GLUE CoLA).", predictions=_CLASSES),
    Metric(
        "pearson",
        _correlation("pearson"),
        "Pearson correlation (GLUE STS-B).",
        predictions=_VALUES,
    ),
    Metric(
        "spearman",
        _correlation("spearman"),
        "Spearman rank correlation (GLUE STS-B).",
        predictions=_VALUES,
    ),
    Metric(
        "entity_precision",
        _entity("precision"),
        "Entities predicted with exactly the gold start, end and type / entities predicted "
        "(conlleval, micro over the corpus).",
        predictions={"entities"},
    ),
    Metric(
        "entity_recall",
        _entity("recall"),
        "Entities predicted with exactly the gold start, end and type / gold entities.",
        predictions={"entities"},
    ),
    Metric(
        "uas",
        _attachment("uas"),
        "Unlabelled attachment score: words with the gold head (punctuation counts unless "
        "head.exclude_punct).",
        predictions={"trees"},
    ),
    Metric(
        "las",
        _attachment("las"),
        "Labelled attachment score: words with the gold head and relation (universal part).",
        predictions={"trees"},
    ),
    Metric(
        "token_accuracy",
        _accuracy,
        "Accuracy over words (first sub-words) for tagging.",
        predictions=_CLASSES,
        levels={"token"},
    ),
    Metric(
        "token_macro_f1",
        _macro_f1,
        "Macro F1 over words (first sub-words) for tagging.",
        predictions=_CLASSES,
        levels={"token"},
    ),
]
