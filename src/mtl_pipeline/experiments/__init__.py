"""The experiments grid's pure logic: which cells to run, and what the scores say.

No torch here: the grid plan, the comparison table, the task-affinity matrix and the
strategy advisor are plain pandas, so they are cheap to test and `kedro viz` stays fast.
The cells themselves are trained by ``strategies.grid``.
"""
