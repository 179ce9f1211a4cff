"""Example mtl_pipeline plugin: data, evaluation and logging components.

* reader ``fasttext`` — fastText's supervised format (``__label__pos some text``);
* metrics ``mae`` (mean absolute error) and ``quadratic_kappa`` (Cohen 1968);
* observer hooks writing a JSON Lines training log (set ``MTL_JSONL_LOG``).

The hook implementations are in :mod:`mtl_data_extras.plugin`.
"""

__version__ = "0.1.0"
