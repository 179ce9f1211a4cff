"""Project settings. There is no need to edit this file unless you want to change values
from the Kedro defaults. For further information, including these default values, see
https://docs.kedro.org/en/stable/configure/configuration_basics/#configuration"""

from mtl_pipeline.hooks import ConfigValidationHooks

# Instantiated project hooks. Validation runs first so a typo fails in the first second.
HOOKS = (ConfigValidationHooks(),)

# Keyword arguments to pass to the `CONFIG_LOADER_CLASS` constructor.
CONFIG_LOADER_ARGS = {
    "base_env": "base",
    "default_run_env": "local",
    # Environments (smoke, hierarchical, ...) override single nested keys such as
    # `training.max_steps` without restating the whole `training` block.
    "merge_strategy": {"parameters": "soft"},
}
