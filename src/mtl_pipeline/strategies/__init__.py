"""Transfer strategies: how the tasks are combined over one or more training runs.

``training.strategy`` names one; strategies are components registered through the plugin
hook ``register_strategies`` (the built-ins in ``builtin_plugin``), so a third-party package
can add one. ``training.run.run_training`` looks the name up in the registry and calls the
strategy's ``fit``. See docs/strategies.md.
"""

from __future__ import annotations

from mtl_pipeline.strategies.base import Phase, Strategy, StrategyContext, StrategyResult, package

__all__ = ["Phase", "Strategy", "StrategyContext", "StrategyResult", "package"]
