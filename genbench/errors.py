"""Exception families: each carries one line a user can act on; the CLI prints it and exits non-zero."""


class GenbenchError(Exception):
    """Base of every error genbench reports to a user as one line."""


class PluginError(GenbenchError):
    """A plugin is missing, clashes with another, failed to import, or broke its contract."""


class ProtocolError(GenbenchError):
    """A protocol file is malformed, unknown, or does not fit the model or data."""


class DataError(GenbenchError):
    """A data set is missing offline, malformed, or too small for what is asked of it."""


class WeightsError(GenbenchError):
    """A weights file is missing, unknown, or does not match its expected hash or model."""


class MetricError(GenbenchError):
    """A metric cannot be computed from what it was given (too few samples, NaN features)."""


class ResultsError(GenbenchError):
    """A results directory or result file cannot be written or read."""
