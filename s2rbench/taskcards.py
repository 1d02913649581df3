"""Old home of the card authoring tools, kept for old imports: see `s2rbench.tasks.init`, `.pin`, `.check`."""

from .tasks.check import CheckReport, check_card, format_report
from .tasks.guess import (
    ColumnGuess,
    guess_column_kind,
    guess_values_kind,
    looks_formula,
    looks_polymer,
    looks_smiles,
    numeric_columns,
    property_name,
    target_candidates,
    unit_of,
)
from .tasks.init import KIND_FEATURIZER, InitResult, init_card
from .tasks.pin import hash_card, set_sha256
from .cards.card import KNOWN_KEYS, unknown_keys
