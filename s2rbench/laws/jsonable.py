"""THE JSON converter of the package: every ``to_dict()`` and every ``--json`` goes through `jsonable`.

Strict JSON has no NaN or inf, so they become None (the result's ``reachable`` / ``*_unbounded``
fields say which); arrays and tuples become lists, numpy scalars plain Python, pandas' NA None,
data frames lists of records, objects with ``to_dict()`` their dict. It lives at the bottom of the
layers (laws) because the laws' results serialise themselves; `s2rbench.report.format` and the
leaderboard re-use it.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd


def jsonable(x: Any) -> Any:
    """Plain Python for JSON: NaN/inf -> None, arrays and tuples -> lists, dicts and dataclasses recursed."""
    if hasattr(x, "to_dict") and not isinstance(x, (pd.DataFrame, pd.Series)):
        return x.to_dict()
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if isinstance(x, pd.DataFrame):
        return [jsonable(r) for r in x.to_dict(orient="records")]
    if isinstance(x, np.ndarray):
        return jsonable(x.tolist())
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if x is pd.NA or x is None:
        return None
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if math.isfinite(float(x)) else None
    return x


_jsonable = jsonable
