"""Public alias of `s2rbench.contracts.featurizer` (the import path plugin authors have used)."""

from .contracts.featurizer import (
    INPUT_KINDS,
    PART_SEP,
    FeatureMatrix,
    Featurizer,
    InvalidInputsWarning,
    describe_invalid,
    featurize_with,
    log,
)
