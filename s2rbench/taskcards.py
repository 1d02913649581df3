"""Old home of the card authoring tools, kept for old imports: see `s2rbench.tasks.init`, `.pin`, `.check`."""

from .tasks.card import KNOWN_KEYS, unknown_keys  # noqa: F401
from .tasks.check import CheckReport, check_card, format_report  # noqa: F401
from .tasks.guess import (
    looks_polymer,  # noqa: F401
)
from .tasks.init import KIND_FEATURIZER, InitResult, init_card  # noqa: F401
from .tasks.pin import hash_card, set_sha256  # noqa: F401
