"""Public alias of `s2rbench.contracts.sampler` (the import path plugin authors have used)."""

from .contracts.sampler import (  # noqa: F401
    SamplingContext,
    raw_bits,
    SuggestContext,
    Suggestion,
    Sampler,
    checked_order,
    checked_suggestion,
    RandomSampler,
)
