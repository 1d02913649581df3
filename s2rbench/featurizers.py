"""Public alias of `s2rbench.contracts.featurizer` (the import path plugin authors have used)."""

from .contracts.featurizer import (  # noqa: F401
    InvalidInputsWarning,
    Featurizer,
    FeatureMatrix,
    describe_invalid,
    featurize_with,
    log,
    PART_SEP,
    INPUT_KINDS,
)
