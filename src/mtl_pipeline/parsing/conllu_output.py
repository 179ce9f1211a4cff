"""Predicted trees written back as CoNLL-U, one sentence block per input sentence.

Columns the model does not predict are ``_``; UPOS is filled when a tagger predicted it.
The output reads back through the project's CoNLL-U reader (tested as a round trip).
"""

from __future__ import annotations

from collections.abc import Sequence


def format_conllu(
    sentences: Sequence[Sequence[str]],
    heads: Sequence[Sequence[int]],
    relations: Sequence[Sequence[str]],
    upos: Sequence[Sequence[str]] | None = None,
    sentence_ids: Sequence[str] | None = None,
) -> str:
    blocks = []
    for index, words in enumerate(sentences):
        lines = []
        if sentence_ids is not None:
            lines.append(f"# sent_id = {sentence_ids[index]}")
        lines.append(f"# text = {' '.join(words)}")
        tags = upos[index] if upos is not None else ["_"] * len(words)
        for position, (word, head, relation, tag) in enumerate(
            zip(words, heads[index], relations[index], tags, strict=True), start=1
        ):
            if "\t" in word or "\n" in word:
                raise ValueError(f"sentence {index}, word {position}: contains a tab or newline")
            lines.append(
                "\t".join([str(position), word, "_", tag, "_", "_", str(head), relation, "_", "_"])
            )
        blocks.append("\n".join(lines) + "\n")
    return "\n".join(blocks)
