"""The plugin module named by this package's ``mtl_pipeline`` entry point.

It declares the plugin API version and implements three registration hooks. Component modules are
imported inside the hooks, so importing the plugin (which the registry does for every
installed plugin) stays cheap.
"""

from __future__ import annotations

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
