"""Alias of `s2rbench.cards.files` (the data files a card names), kept for old imports.

The alias *is* that module (one set of globals), so patching one patches the other. The card lives
below the plugin registry (see `s2rbench.cards`); this package sits above it.
"""

import sys

from ..cards import files as _files

sys.modules[__name__] = _files
