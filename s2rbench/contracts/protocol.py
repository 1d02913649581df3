"""Splits and nested subsets as pure functions of (data fingerprint, seed, trial).

Every random choice of the sweep is drawn here, from NumPy's PCG64 bit stream seeded by a
SeedSequence of integers. Only the raw bit stream is used (sorted random keys give a
permutation), and NumPy guarantees that stream across releases, unlike its Generator methods: a
library upgrade cannot change a split. Each trial fixes its real test split first; the simulated
pretraining sets are the first n of one permutation (nested across n), and the real fine-tuning
sets are the first m of another (nested across m): the test split never depends on n or m.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .streams import STREAMS, _words, bit_stream, permutation, sim_order  # noqa: F401 (re-exported)


def fingerprint(frame: pd.DataFrame) -> str:
    """sha256 of a standardized table's content (inputs, targets, conditions), stable across library versions."""
    h = hashlib.sha256()
    h.update("\x1f".join(map(str, frame["input"])).encode())
    h.update(np.ascontiguousarray(frame["target"].to_numpy(dtype="<f8")).tobytes())
    for col in frame.columns:
        if col not in ("input", "target", "group"):
            h.update(col.encode())
            h.update(np.ascontiguousarray(frame[col].to_numpy(dtype="<f8")).tobytes())
    if "group" in frame.columns:
        h.update("\x1f".join(map(str, frame["group"])).encode())
    return h.hexdigest()


def trial_seed(key: str, seed: int, trial: int) -> int:
    """The seed a model receives for one trial (63 bits, from the same stable stream)."""
    return int(bit_stream(key, seed, trial, "model").random_raw() >> np.uint64(1))


@dataclass(frozen=True)
class RealSplit:
    test: np.ndarray  # indices into the real table
    train_order: np.ndarray  # the training rows in the trial's order; the first m are the m-subset

    def train(self, m: int | None = None) -> np.ndarray:
        return self.train_order if m is None else self.train_order[:m]


def test_size(n_rows: int, test_fraction: float) -> int:
    return max(1, min(n_rows - 1, round(test_fraction * n_rows)))


def real_split(
    n_rows: int,
    key: str,
    seed: int,
    trial: int,
    test_fraction: float,
    groups: np.ndarray | None = None,
) -> RealSplit:
    """The trial's real test split; with groups, whole groups go to test until it holds enough rows."""
    t = test_size(n_rows, test_fraction)
    if groups is None:
        perm = permutation(n_rows, key, seed, trial, "real-split")
        test = np.sort(perm[:t])
    else:
        uniq, inverse = np.unique(np.asarray(groups, dtype=str), return_inverse=True)
        order = permutation(len(uniq), key, seed, trial, "real-split")
        sizes = np.bincount(inverse, minlength=len(uniq))
        cum = np.cumsum(sizes[order])
        k = int(np.searchsorted(cum, t) + 1)
        chosen = np.zeros(len(uniq), bool)
        chosen[order[:k]] = True
        test = np.flatnonzero(chosen[inverse])
    is_test = np.zeros(n_rows, bool)
    is_test[test] = True
    order = permutation(n_rows, key, seed, trial, "real-order")
    train_order = order[~is_test[order]]
    return RealSplit(test=test, train_order=train_order)


def log_grid(lo: int, hi: int, per_decade: int = 4) -> list[int]:
    """A log-spaced integer grid from lo to hi inclusive (used to suggest card n grids)."""
    k = max(2, math.ceil(math.log10(hi / lo) * per_decade) + 1)
    return sorted({round(v) for v in np.geomspace(lo, hi, k)})
