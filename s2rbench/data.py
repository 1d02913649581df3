"""Alias of `s2rbench.cards.files` (data files: mirror, download cache, sha256), kept for old imports."""

import sys

from .cards import files as _files

sys.modules[__name__] = _files
