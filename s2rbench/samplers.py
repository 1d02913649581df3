"""Public alias of `s2rbench.contracts.sampler` (the import path plugin authors have used)."""

from .contracts.sampler import (
    RandomSampler,
    Sampler,
    SamplingContext,
    SuggestContext,
    Suggestion,
    checked_order,
    checked_suggestion,
    raw_bits,
)
