"""Alias of `s2rbench.cards.card` (the card, its schema and parser), kept for old imports.

The alias *is* that module (one set of globals), so patching one patches the other. The card lives
below the plugin registry (see `s2rbench.cards`); this package sits above it.
"""

import sys

from ..cards import card as _card

sys.modules[__name__] = _card
