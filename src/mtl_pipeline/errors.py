"""Exception types. Each one carries a message meant for the person running the job:
it names the file, row, key or plugin at fault and what was expected instead."""


class MTLError(Exception):
    """Base class for every error this project raises on purpose."""


class ConfigError(MTLError, ValueError):
    """The run configuration is invalid (unknown key, bad value, unknown component)."""


class DataError(MTLError, ValueError):
    """An input file or row is malformed."""


class PluginError(MTLError):
    """A plugin could not be loaded or registered."""


class UnknownComponentError(ConfigError, KeyError):
    """A config names a component that no installed plugin provides."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return str(self.args[0]) if self.args else ""


class TrainingError(MTLError, RuntimeError):
    """Training cannot go on (non-finite loss, unwritable output...)."""


class RunLockedError(MTLError, RuntimeError):
    """Another ``kedro run`` holds this project's run lock."""
