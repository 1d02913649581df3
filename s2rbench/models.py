"""Public alias of `s2rbench.contracts.model` (the import path plugin authors have used)."""

from .contracts.model import (
    Model,
    TrainingBlock,
    informative_columns,
)
