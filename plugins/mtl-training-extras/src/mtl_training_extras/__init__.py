"""Example mtl_pipeline plugin: training-side components.

* architecture ``lora`` — per-task low-rank adapters on a frozen encoder (Hu et al. 2021);
* loss ``famo`` — Fast Adaptive Multitask Optimization (Liu et al. 2023);
* sampler ``loss_ratio`` — draws the tasks whose training loss fell least, fed by the
  trainer through ``observe_losses``.

The hook implementations are in :mod:`mtl_training_extras.plugin`.
"""

__version__ = "0.1.0"
