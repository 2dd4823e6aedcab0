"""koopmatch matching engine: encoders, complementarity-aware partner ranking, explanations."""

from matching.encoders import DEFAULT_SPEC, Encoder, load_encoder
from matching.engine import Matcher
from matching.errors import (
    DimensionMismatch,
    EncoderUnavailable,
    InvalidFilter,
    MatchingError,
    NotFitted,
)
from matching.types import (
    CompetenceKind,
    CompetenceVec,
    Filters,
    Match,
    ProfileVec,
    Reason,
    Relation,
)
from matching.weights import Weights

__all__ = [
    "DEFAULT_SPEC",
    "CompetenceKind",
    "CompetenceVec",
    "DimensionMismatch",
    "Encoder",
    "EncoderUnavailable",
    "Filters",
    "InvalidFilter",
    "Match",
    "Matcher",
    "MatchingError",
    "NotFitted",
    "ProfileVec",
    "Reason",
    "Relation",
    "Weights",
    "load_encoder",
]
