"""Old import path of `s2rbench.leaderboard.submission` (the same module object)."""

import sys

from .leaderboard import submission as _submission

sys.modules[__name__] = _submission
