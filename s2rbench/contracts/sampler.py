"""The sampler contract: which simulated rows a trial pretrains on, as an ordering of the pool.

A sampler returns an ordering of the simulated pool; the first n rows are the trial's pretraining
set of size n, so pretraining sets stay nested across n and resume, the surface and every fit work
unchanged. It may look at the featurized pool, the pool's canonical inputs, and the trial's real
*training* inputs (never the test inputs: the context does not hold them).

A sampler can also rank candidates that are *not yet simulated* (`s2rbench suggest`): `Sampler.suggest`
receives a `SuggestContext` (the simulated table that exists, the candidate pool, every real input) and
returns the k candidates to simulate next, each with its reason. The base class answers for any
sampler from its `order` on the union (existing rows first, then the candidates); the built-in
samplers override it to continue from the existing table (see docs/samplers.md).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..errors import S2RBenchError
from . import streams as proto


@dataclass(frozen=True)
class SamplingContext:
    """What a sampler may see for one trial."""

    X_pool: np.ndarray  # (N, d) featurized simulated pool
    inputs: tuple[str, ...]  # canonical inputs of the pool, row-aligned with X_pool
    X_real_train: np.ndarray  # (m, d) the trial's real fine-tuning inputs (never test rows)
    key: str  # the pool's data fingerprint
    seed: int
    trial: int
    families: np.ndarray | None = None  # a family label per pool row, when the card names a column
    input_kind: str | None = None  # the task's input kind when the caller knows it (else samplers infer it)

    def random_order(self) -> np.ndarray:
        """The protocol's stable random ordering of the pool for this trial (the `random` sampler)."""
        return proto.sim_order(len(self.X_pool), self.key, self.seed, self.trial)

    def bit_stream(self) -> np.random.PCG64:
        """A stable random stream for this trial, for samplers that need randomness of their own.

        It is the stream `random_order` draws from; a sampler that uses both should `advance` it
        past the pool's length first (see `raw_bits`).
        """
        return proto.bit_stream(self.key, self.seed, self.trial, "sim-order")


def raw_bits(stream: np.random.PCG64, count: int, salt: int = 1) -> np.ndarray:
    """`count` raw 64-bit words from `stream` advanced by `salt`·2^64 steps: independent of the words
    `random_order` used, and stable across NumPy versions (only the raw PCG64 stream is used)."""
    stream.advance(int(salt) << 64)
    return np.asarray(stream.random_raw(int(count)), dtype=np.uint64).reshape(-1)


@dataclass(frozen=True)
class SuggestContext:
    """What a sampler may see when it ranks not-yet-simulated candidates (`s2rbench suggest`).

    There is no trial here, hence no real train/test split: `X_real` holds *every* real input.
    """

    X_existing: np.ndarray  # (N_e, d) the task's simulated table, featurized (what has been simulated)
    existing_inputs: tuple[str, ...]
    X_candidates: np.ndarray  # (N_c, d) the candidates, featurized like the simulated table
    candidate_inputs: tuple[str, ...]  # canonical inputs of the candidates, row-aligned
    X_real: np.ndarray  # (R, d) every real input of the task
    real_inputs: tuple[str, ...]
    key: str  # fingerprint of the existing table and the candidates
    seed: int
    input_kind: str | None = None
    existing_families: np.ndarray | None = None
    candidate_families: np.ndarray | None = None

    def random_order(self) -> np.ndarray:
        """A stable random ordering of the candidates (ties and random choices start from it)."""
        return proto.permutation(len(self.X_candidates), self.key, self.seed, 0, "sim-order")

    def bit_stream(self) -> np.random.PCG64:
        return proto.bit_stream(self.key, self.seed, 0, "sim-order")

    def union(self) -> SamplingContext:
        """The existing table followed by the candidates as one pool, for samplers that only `order`."""
        fams = None
        if self.existing_families is not None and self.candidate_families is not None:
            fams = np.concatenate(
                [np.asarray(self.existing_families, dtype=object), np.asarray(self.candidate_families, dtype=object)]
            )
        return SamplingContext(
            X_pool=np.vstack([self.X_existing, self.X_candidates])
            if len(self.X_existing)
            else np.asarray(self.X_candidates),
            inputs=tuple(self.existing_inputs) + tuple(self.candidate_inputs),
            X_real_train=self.X_real,
            key=self.key,
            seed=self.seed,
            trial=0,
            families=fams,
            input_kind=self.input_kind,
        )


@dataclass
class Suggestion:
    """The candidates to simulate next, in order, each with why (a dict of named numbers or labels)."""

    index: np.ndarray  # candidate rows (indices into SuggestContext.X_candidates), first = simulate first
    reasons: list[dict[str, Any]] = field(default_factory=list)  # one per index; may be empty dicts


class Sampler:
    """Base class for sampler plugins: set `name`, `version`, `description`; implement `order`.

    `suggest` has a generic default (rank by `order` on existing ∪ candidates); override it when
    the sampler can say more, e.g. continue from the existing table.
    """

    name: str = ""
    version: str = ""  # required: the registry refuses an object without one
    description: str = ""

    def order(self, ctx: SamplingContext, n_max: int) -> np.ndarray:
        """Distinct pool indices, at least `n_max` of them; the first n are the pretraining set of size n."""
        raise NotImplementedError

    def suggest(self, ctx: SuggestContext, k: int) -> Suggestion:
        """The k candidates this sampler would simulate next, given what is already simulated."""
        union = ctx.union()
        n_e = len(ctx.X_existing)
        order = np.asarray(self.order(union, len(union.X_pool)), dtype=np.int64)
        cand = order[order >= n_e] - n_e
        _, first = np.unique(cand, return_index=True)  # keep first occurrences, in order
        cand = cand[np.sort(first)][:k]
        pos = {int(i): r for r, i in enumerate(order)}
        return Suggestion(index=cand, reasons=[{"rank_in_order": pos[int(c) + n_e]} for c in cand])


def checked_order(sampler: Sampler, ctx: SamplingContext, n_max: int) -> np.ndarray:
    order = np.asarray(sampler.order(ctx, n_max), dtype=np.int64)
    if (
        order.ndim != 1
        or len(order) < n_max
        or len(np.unique(order[:n_max])) != n_max
        or (n_max and (order[:n_max].min() < 0 or order[:n_max].max() >= len(ctx.X_pool)))
    ):
        raise S2RBenchError(
            f"sampler {sampler.name!r} returned an invalid ordering for n={n_max} "
            f"(needs {n_max} distinct pool indices); fix the plugin"
        )
    return order


def checked_suggestion(sampler: Sampler, ctx: SuggestContext, k: int) -> Suggestion:
    s = sampler.suggest(ctx, k)
    idx = np.asarray(s.index, dtype=np.int64)
    n_c = len(ctx.X_candidates)
    if idx.ndim != 1 or len(idx) != k or len(np.unique(idx)) != k or (k and (idx.min() < 0 or idx.max() >= n_c)):
        raise S2RBenchError(
            f"sampler {sampler.name!r} suggested an invalid ranking for k={k} "
            f"(needs {k} distinct candidate rows of {n_c}); fix the plugin"
        )
    reasons = list(s.reasons) if s.reasons else [{} for _ in range(k)]
    if len(reasons) != k:
        raise S2RBenchError(f"sampler {sampler.name!r} gave {len(reasons)} reasons for {k} suggestions; fix the plugin")
    return Suggestion(index=idx, reasons=reasons)


class RandomSampler(Sampler):
    """A uniformly random ordering: the protocol's default, identical to runs made before samplers existed."""

    name = "random"
    version = "1"
    description = "uniformly random subsets (the default)"

    def order(self, ctx: SamplingContext, n_max: int) -> np.ndarray:
        return ctx.random_order()

    def suggest(self, ctx: SuggestContext, k: int) -> Suggestion:
        idx = ctx.random_order()[:k]
        return Suggestion(index=idx, reasons=[{"chosen": "at random"} for _ in idx])
