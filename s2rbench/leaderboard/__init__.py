"""The leaderboard stage: submissions (`submission`), the generated page and its check (`page`).

``s2rbench.leaderboard`` keeps the names it had as a single module (``build``, ``check``,
``find_problems``, ``render``, ``rank``, ``Entry``, ...), and ``s2rbench.submission`` is the same
module object as ``s2rbench.leaderboard.submission``, so old imports keep working.
"""

from __future__ import annotations

# The sweep package first: importing the plugin registry before s2rbench.contracts.sampler is a
# circular import on main (the sampler plugins fail to load); see the board report.
from .. import sweep as _sweep
from . import submission
from .page import *  # noqa: F403
from .page import (
    _cell,
    _first_difference,
    _law_cells,
    _orphan_plots,
    _plot,
    _row,
)
