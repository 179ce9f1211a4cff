"""The plugin module named by this package's ``mtl_pipeline`` entry point.

It declares the plugin API version and implements four hooks. Component modules are
imported inside the hooks, so importing the plugin (which the registry does for every
installed plugin) stays cheap.
"""

from __future__ import annotations

from typing import Any

from mtl_pipeline.hookspecs import hookimpl

#: The plugin API this plugin was written against; the registry refuses a mismatch.
MTL_PIPELINE_API_VERSION = 1


@hookimpl
def register_architectures() -> list[type]:
    from mtl_training_extras.lora import LoraArchitecture

    return [LoraArchitecture]


@hookimpl
def register_losses() -> list[type]:
    from mtl_training_extras.famo import Famo

    return [Famo]


@hookimpl
def register_samplers() -> list[type]:
    from mtl_training_extras.loss_ratio import LossRatioSampler

    return [LossRatioSampler]


@hookimpl
def on_step_end(step: int, logs: dict[str, Any]) -> None:
    """Forward each step's task losses to the live ``loss_ratio`` samplers.

    A sampler only sees evaluation scores through its own interface (``observe``); the
    training loss reaches it through this observer hook instead.
    """
    from mtl_training_extras.loss_ratio import broadcast_losses

    broadcast_losses(logs.get("losses") or {})
