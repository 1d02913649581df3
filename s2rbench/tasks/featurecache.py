"""On-disk cache of featurized tables, keyed by featurizer name, version, settings and the inputs' hash.

A second run over the same inputs featurizes nothing (bandgap's 106,113 compositions: canonicalising
alone takes 16 s here, so the cache is not re-validated by featurizing again). Rows whose inputs do
not parse are cached as NaN rows with their indices, so the warning and the counts come back with
the matrix.

When the cache is reused: the file name is a hash of (featurizer name, version, config(), every
input in order), and the file stores a digest binding its rows to that order (the inputs' hash, the
feature matrix, the canonical inputs and the invalid rows). A file whose rows are valid but in
another order (copied from another run, or edited) fails the digest and is recomputed, never
trusted: such a file once turned a +69% transfer gain into −10%. What the key cannot see is a
featurizer whose code changed without a version bump: `s2rbench run --no-cache` (or deleting
``$S2RBENCH_CACHE_DIR/features``) featurizes afresh.
"""

from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence

import numpy as np

from ..cards.files import cache_dir
from ..contracts.featurizer import FeatureMatrix, Featurizer, InvalidInputsWarning, describe_invalid, featurize_with

#: Bumped when the file layout changes (older files are recomputed).
CACHE_FORMAT = 2


def cache_key(featurizer: Featurizer, inputs: Sequence[str]) -> str:
    h = hashlib.sha256()
    h.update(
        json.dumps([featurizer.name, featurizer.version, featurizer.config()], sort_keys=True, default=str).encode()
    )
    h.update("\x1f".join(map(str, inputs)).encode())
    return h.hexdigest()


def inputs_hash(inputs: Sequence[str]) -> str:
    return hashlib.sha256("\x1f".join(map(str, inputs)).encode()).hexdigest()


def content_digest(inputs: Sequence[str], X: np.ndarray, canonical: Sequence[str], invalid: np.ndarray) -> str:
    """Binds a cached matrix to its inputs' order: any row moved, dropped or swapped changes it."""
    h = hashlib.sha256()
    h.update(f"s2rbench-featurecache-{CACHE_FORMAT}".encode())
    h.update(inputs_hash(inputs).encode())
    h.update(np.ascontiguousarray(X, dtype="<f8").tobytes())
    h.update(str(X.shape).encode())
    h.update("\x1f".join(map(str, canonical)).encode())
    h.update(np.ascontiguousarray(invalid, dtype="<i8").tobytes())
    return h.hexdigest()


def _load(path, inputs: list[str]) -> FeatureMatrix | None:
    with np.load(path, allow_pickle=False) as z:
        if "digest" not in z.files:
            return None
        X, canonical, invalid = z["X"], [str(c) for c in z["canonical"]], z["invalid"].astype(np.int64)
        if len(canonical) != len(inputs) or X.shape[0] != len(inputs):
            return None
        if str(z["digest"]) != content_digest(inputs, X, canonical, invalid):
            return None
        names = list(z["names"])
    canon = [None if c == "" else c for c in canonical]
    return FeatureMatrix(X=X, names=names, invalid=[int(i) for i in invalid], canonical=canon)


def cached_featurize(
    featurizer: Featurizer, inputs: Sequence[str], *, what: str = "", use_cache: bool = True
) -> FeatureMatrix:
    inputs = [str(s) for s in inputs]
    path = cache_dir() / "features" / f"{featurizer.name}-{cache_key(featurizer, inputs)[:24]}.npz"
    if use_cache and path.is_file():
        try:
            fm = _load(path, inputs)
        except Exception:
            fm = None
        if fm is not None:
            fm.invalid_inputs = [inputs[i] for i in fm.invalid]
            if fm.invalid:
                warnings.warn(
                    describe_invalid(fm.invalid, inputs, f"{what} {featurizer.input_kind}".strip()),
                    InvalidInputsWarning,
                    stacklevel=2,
                )
            return fm
        path.unlink(missing_ok=True)  # a corrupted, stale or reordered cache entry is recomputed, never trusted
    fm = featurize_with(featurizer, inputs, what=what)
    if use_cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npz")
        canonical = ["" if c is None else c for c in fm.canonical]
        invalid = np.array(fm.invalid, dtype=np.int64)
        try:
            np.savez(
                tmp,
                X=fm.X,
                names=np.array(fm.names, dtype=str),
                invalid=invalid,
                canonical=np.array(canonical, dtype=str),
                digest=np.array(content_digest(inputs, fm.X, canonical, invalid)),
            )
            tmp.replace(path)
        except OSError:  # a full or read-only cache directory costs a recomputation next time, nothing else
            tmp.unlink(missing_ok=True)
    return fm
