"""Exceptions raised by the matching engine; the web service maps them at its boundary."""


class MatchingError(Exception):
    """Base class of every error the engine raises."""


class EncoderUnavailable(MatchingError):
    """An encoder spec names a model that is not installed or cannot be loaded offline."""


class DimensionMismatch(MatchingError):
    """Vectors of different dimensions (usually different encoders) were mixed."""


class InvalidFilter(MatchingError):
    """A filter cannot be applied, e.g. a distance radius without an origin."""


class NotFitted(MatchingError):
    """The matcher was used before `fit`."""
