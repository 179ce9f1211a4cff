"""Project settings. There is no need to edit this file unless you want to change values
from the Kedro defaults. For further information, including these default values, see
https://docs.kedro.org/en/stable/configure/configuration_basics/#configuration"""

from mtl_pipeline.hooks import ConfigValidationHooks, RunLockHooks
from mtl_pipeline.tracking import MlflowTrackingHooks

# Instantiated project hooks. pluggy calls implementations last-registered first:
# RunLockHooks, listed last, refuses a second `kedro run` in the same project at once
# (data/.kedro_run.lock), before anything is imported or read; ConfigValidationHooks then
# validates (a typo fails in the first seconds, before an MLflow run is opened).
# MlflowTrackingHooks is a no-op (mlflow not even imported) unless
# `tracking.mlflow.enabled` is true.
HOOKS = (MlflowTrackingHooks(), ConfigValidationHooks(), RunLockHooks())

# Kedro's OmegaConfigLoader, but a key repeated in one YAML file is reported with the file
# name (OmegaConf alone says `in "<file>"`).
from mtl_pipeline.config_loader import CONFIG_LOADER_ARGS, ProjectConfigLoader  # noqa: E402

CONFIG_LOADER_CLASS = ProjectConfigLoader

# Keyword arguments to pass to the `CONFIG_LOADER_CLASS` constructor: base + local,
# `parameters` merged softly (config_loader.CONFIG_LOADER_ARGS).
CONFIG_LOADER_ARGS = CONFIG_LOADER_ARGS

# Under `torchrun`, ranks other than 0 keep outputs in memory: only rank 0 writes files.
from mtl_pipeline.datasets.rank_aware_catalog import RankAwareDataCatalog  # noqa: E402

DATA_CATALOG_CLASS = RankAwareDataCatalog
