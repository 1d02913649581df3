"""THE JSON converter of the package: every ``to_dict()`` and every ``--json`` goes through `jsonable`.

Strict JSON has no NaN or inf, so they become None (the result's ``reachable`` / ``*_unbounded``
fields say which); arrays and tuples become lists, numpy scalars plain Python, pandas' NA None,
data frames lists of records, objects with ``to_dict()`` their dict. It lives at the bottom of the
layers (laws) because the laws' results serialise themselves; `s2rbench.report.format` and the
leaderboard re-use it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
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


def estimates(fit: Any, names: Sequence[str] | dict[str, str], *, interleave: bool = False) -> dict[str, Any]:
    """Each parameter of a fit with its interval: ``key`` from the attribute, ``key_ci`` from ``attribute_ci``.

    ``names`` lists the attributes, or maps each key to the attribute it reads (the scratch curve's
    ``a, b, c`` are the fit's ``D, alpha, C``). Values first, then the intervals (the order of every
    ``to_dict``), or each value followed by its interval with ``interleave`` (the analysis'
    ``law_params``). One helper, so the laws' records and the analysis' parameter tables name and
    order the parameters alike; values are not converted (the caller's dict goes through `jsonable`).
    """
    pairs = list(names.items()) if isinstance(names, dict) else [(n, n) for n in names]
    values = [(key, getattr(fit, attr)) for key, attr in pairs]
    cis = [(f"{key}_ci", getattr(fit, f"{attr}_ci")) for key, attr in pairs]
    if interleave:
        return dict(item for pair in zip(values, cis) for item in pair)
    return dict(values + cis)


def fit_record(fit: Any, law_keys: dict[str, Any], include_boot: bool = False, **settings: Any) -> dict[str, Any]:
    """The JSON record of a bootstrap fit (the ``to_dict`` of a curve and of a surface).

    ``law_keys`` (the law, its estimates, fit quality, sizes and mean MAEs) come first; then what every
    fit over resampled trials reports in the same order: trials, replicates, interval level, the
    fit's own ``settings`` (the curve's ``space``), the paired drop between the first and the last
    size, and the replicates themselves with ``include_boot``.
    """
    d = {
        **law_keys,
        "n_trials": fit.n_trials,
        "n_boot": int(fit.boot.shape[0]),
        "ci": fit.ci,
        **settings,
        "drop": fit.drop,
        "drop_se": fit.drop_se,
        "drop_trials": fit.drop_trials,
    }
    if include_boot:
        d["boot"] = fit.boot
    return jsonable(d)


_jsonable = jsonable
