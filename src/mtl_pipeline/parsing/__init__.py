"""Dependency trees: well-formed decoding, attachment scores, gold-tree checks, CoNLL-U out.

Free of torch and of the task-type machinery, so the parser head, its metrics, the reader
and the prediction writer share one definition of a tree: ``heads[i]`` is the 1-based head
of word ``i + 1``, 0 meaning the root; exactly one word attaches to the root.
"""
