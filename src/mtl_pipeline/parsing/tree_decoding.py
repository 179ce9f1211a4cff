"""Maximum spanning arborescence with a single root (Chu-Liu/Edmonds), non-projective.

UD treebanks (EWT included) contain non-projective trees, so the decoder is Chu-Liu/
Edmonds rather than Eisner's projective algorithm. The single-root constraint is exact
without trying every root child: every root edge is penalised by a constant larger than
the whole score range, so the best arborescence uses exactly one root edge, and among
trees with one root edge the constant shifts every total equally, so the best of them
wins (Zmigrod et al. 2020 discuss why the common "re-run for each root child" heuristic of
taking only the unconstrained tree's root children is not always exact).
"""

from __future__ import annotations

import numpy as np


def decode_tree(scores: np.ndarray) -> list[int]:
    """Heads for ``n`` words from ``scores[h, d]`` (shape ``(n + 1, n + 1)``; row/col 0 is the
    root): the highest-scoring tree in which exactly one word attaches to the root.

    Returns ``heads`` with ``heads[d - 1]`` the head of word ``d`` (0 = root).
    """
    scores = np.asarray(scores, dtype=np.float64)
    size = scores.shape[0]
    if scores.shape != (size, size) or size < 2:
        raise ValueError(f"expected an (n + 1, n + 1) score matrix with n >= 1, got {scores.shape}")
    finite = scores[np.isfinite(scores)]
    spread = float(finite.max() - finite.min()) if finite.size else 0.0
    work = np.where(np.isfinite(scores), scores, -1e18)
    work = work.copy()
    work[0, 1:] -= (spread + 1.0) * size  # one root edge is always cheaper than two
    np.fill_diagonal(work, -np.inf)
    work[:, 0] = -np.inf  # nothing heads the root
    heads = _chu_liu_edmonds(work)
    return [int(h) for h in heads[1:]]


def _chu_liu_edmonds(scores: np.ndarray) -> np.ndarray:
    """``heads`` (``heads[0]`` unused) of the maximum arborescence rooted at node 0."""
    size = scores.shape[0]
    heads = scores.argmax(axis=0)
    heads[0] = -1
    cycle = _find_cycle(heads)
    if cycle is None:
        return heads
    in_cycle = np.zeros(size, dtype=bool)
    in_cycle[cycle] = True
    outside = np.flatnonzero(~in_cycle)  # includes the root (index 0 in the contraction)
    cycle_score = scores[heads[cycle], cycle]  # the arc each cycle node keeps
    # Contracted graph: outside nodes keep their order, the cycle becomes the last node.
    n_out = len(outside)
    contracted = np.full((n_out + 1, n_out + 1), -np.inf)
    contracted[:n_out, :n_out] = scores[np.ix_(outside, outside)]
    # Arc u -> cycle: enter at the node v where replacing v's cycle arc gains the most.
    enter_gain = scores[np.ix_(outside, cycle)] - cycle_score[None, :]
    enter_at = enter_gain.argmax(axis=1)
    contracted[:n_out, n_out] = enter_gain[np.arange(n_out), enter_at]
    # Arc cycle -> w: leave from the cycle node with the best arc to w.
    leave_scores = scores[np.ix_(cycle, outside)]
    leave_from = leave_scores.argmax(axis=0)
    contracted[n_out, :n_out] = leave_scores[leave_from, np.arange(n_out)]
    contracted[:, 0] = -np.inf
    np.fill_diagonal(contracted, -np.inf)

    sub = _chu_liu_edmonds(contracted)
    result = heads.copy()
    for position, node in enumerate(outside):
        if position == 0:
            continue
        head = sub[position]
        result[node] = cycle[leave_from[position]] if head == n_out else outside[head]
    entering_from = sub[n_out]
    entered = cycle[enter_at[entering_from]]
    result[entered] = outside[entering_from]
    result[0] = -1
    return result


def _find_cycle(heads: np.ndarray) -> np.ndarray | None:
    size = len(heads)
    state = np.zeros(size, dtype=np.int8)  # 0 unseen, 1 on the current path, 2 done
    state[0] = 2
    for start in range(1, size):
        path = []
        node = start
        while state[node] == 0:
            state[node] = 1
            path.append(node)
            node = heads[node]
        if state[node] == 1:  # came back to the current path: a cycle
            return np.array(path[path.index(node) :], dtype=np.int64)
        for visited in path:
            state[visited] = 2
    return None


def is_tree(heads: list[int]) -> bool:
    """One root child, every word reaches the root, no cycle."""
    return tree_problem(heads) is None


def tree_problem(heads: list[int]) -> str | None:
    """What keeps ``heads`` from being a single-rooted tree (None when it is one)."""
    size = len(heads)
    for word, head in enumerate(heads, start=1):
        if not 0 <= head <= size:
            return f"word {word} has head {head}, outside the sentence (0..{size})"
        if head == word:
            return f"word {word} is its own head"
    for word in range(1, size + 1):
        path: list[int] = []
        node = word
        while node != 0:
            if node in path:
                cycle = sorted(path[path.index(node) :])
                return f"words {cycle} form a cycle (no path to the root)"
            path.append(node)
            node = heads[node - 1]
    roots = [word for word, head in enumerate(heads, start=1) if head == 0]
    if len(roots) != 1:
        return f"{len(roots)} words attach to the root ({roots}); expected exactly one"
    return None
