"""On-disk cache of featurized tables, keyed by featurizer name, version, settings and the inputs' hash.

A second run over the same inputs featurizes nothing. Rows whose inputs do not parse are cached
as NaN rows with their indices, so the warning and the counts come back with the matrix.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .tasks.files import cache_dir
from .contracts.featurizer import FeatureMatrix, Featurizer, InvalidInputsWarning, describe_invalid, featurize_with


def cache_key(featurizer: Featurizer, inputs: Sequence[str]) -> str:
    h = hashlib.sha256()
    h.update(json.dumps([featurizer.name, featurizer.version, featurizer.config()], sort_keys=True, default=str).encode())
    h.update("\x1f".join(map(str, inputs)).encode())
    return h.hexdigest()


def cached_featurize(featurizer: Featurizer, inputs: Sequence[str], *, what: str = "", use_cache: bool = True) -> FeatureMatrix:
    inputs = [str(s) for s in inputs]
    path = cache_dir() / "features" / f"{featurizer.name}-{cache_key(featurizer, inputs)[:24]}.npz"
    if use_cache and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                canon = [None if c == "" else str(c) for c in z["canonical"]]
                fm = FeatureMatrix(X=z["X"], names=list(z["names"]), invalid=[int(i) for i in z["invalid"]], canonical=canon)
            fm.invalid_inputs = [inputs[i] for i in fm.invalid]
            if fm.invalid:
                warnings.warn(describe_invalid(fm.invalid, inputs, f"{what} {featurizer.input_kind}".strip()), InvalidInputsWarning, stacklevel=2)
            return fm
        except Exception:
            path.unlink(missing_ok=True)  # a corrupted cache entry is recomputed, never trusted
    fm = featurize_with(featurizer, inputs, what=what)
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        np.savez(tmp, X=fm.X, names=np.array(fm.names, dtype=str), invalid=np.array(fm.invalid, dtype=np.int64),
                 canonical=np.array(["" if c is None else c for c in fm.canonical], dtype=str))
        tmp.replace(path)
    return fm
