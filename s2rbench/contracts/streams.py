"""Stable random streams: every random choice of the protocol is drawn from these primitives.

They live in the contracts layer because samplers (plugins) draw from the very streams the sweep
uses: a sampler's `SamplingContext.random_order` must equal the protocol's own ordering of the pool,
and a plugin depends on the contracts alone. `s2rbench.sweep.protocol` re-exports them.

NumPy's PCG64 bit stream seeded by a SeedSequence of integers; only the raw bit stream is used
(sorted random keys give a permutation), and NumPy guarantees that stream across releases, unlike
its Generator methods: a library upgrade cannot change a split.
"""

from __future__ import annotations

import numpy as np

STREAMS = {"real-split": 1, "sim-order": 2, "real-order": 3, "model": 4}


def _words(hexdigest: str) -> list[int]:
    return [int(hexdigest[i : i + 8], 16) for i in range(0, 32, 8)]


def bit_stream(key: str, seed: int, trial: int, stream: str) -> np.random.PCG64:
    ss = np.random.SeedSequence([int(seed) & 0xFFFFFFFF, int(trial), STREAMS[stream], *_words(key)])
    return np.random.PCG64(ss)


def permutation(size: int, key: str, seed: int, trial: int, stream: str) -> np.ndarray:
    """A permutation of range(size) from raw bits (stable across NumPy versions)."""
    raw = bit_stream(key, seed, trial, stream).random_raw(size)
    return np.argsort(np.asarray(raw, dtype=np.uint64), kind="stable").astype(np.int64)


def sim_order(n_rows: int, key: str, seed: int, trial: int) -> np.ndarray:
    """The trial's order of the simulated pool; the first n rows are its pretraining set of size n."""
    return permutation(n_rows, key, seed, trial, "sim-order")
