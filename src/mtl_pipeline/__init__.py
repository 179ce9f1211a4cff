"""mtl_pipeline: a plugin-based Kedro pipeline for multi-task learning in NLP."""

__version__ = "0.1.0"

#: Major version of the plugin API. A plugin declares the version it was written against
#: as the module attribute ``MTL_PIPELINE_API_VERSION``; the registry refuses a mismatch.
PLUGIN_API_VERSION = 1
