"""The sampler contract: which simulated rows a trial pretrains on, as an ordering of the pool.

A sampler returns an ordering of the simulated pool; the first n rows are the trial's pretraining
set of size n, so pretraining sets stay nested across n and resume, the surface and every fit work
unchanged. It may look at the featurized pool, the pool's canonical inputs, and the trial's real
*training* inputs (never the test inputs: the context does not hold them).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import protocol as proto
from .errors import S2RBenchError


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

    def random_order(self) -> np.ndarray:
        """The protocol's stable random ordering of the pool for this trial (the `random` sampler)."""
        return proto.sim_order(len(self.X_pool), self.key, self.seed, self.trial)

    def bit_stream(self) -> np.random.PCG64:
        """A stable random stream for this trial, for samplers that need randomness of their own."""
        return proto.bit_stream(self.key, self.seed, self.trial, "sim-order")


class Sampler:
    """Base class for sampler plugins: set `name`, `version`, `description`; implement `order`."""

    name: str = ""
    version: str = "0"
    description: str = ""

    def order(self, ctx: SamplingContext, n_max: int) -> np.ndarray:
        """Distinct pool indices, at least `n_max` of them; the first n are the pretraining set of size n."""
        raise NotImplementedError


def checked_order(sampler: Sampler, ctx: SamplingContext, n_max: int) -> np.ndarray:
    order = np.asarray(sampler.order(ctx, n_max), dtype=np.int64)
    if order.ndim != 1 or len(order) < n_max or len(np.unique(order[:n_max])) != n_max or (
        n_max and (order[:n_max].min() < 0 or order[:n_max].max() >= len(ctx.X_pool))
    ):
        raise S2RBenchError(
            f"sampler {sampler.name!r} returned an invalid ordering for n={n_max} (needs {n_max} distinct pool indices); fix the plugin"
        )
    return order


class RandomSampler(Sampler):
    """A uniformly random ordering: the protocol's default, identical to runs made before samplers existed."""

    name = "random"
    version = "1"
    description = "uniformly random subsets (the default)"

    def order(self, ctx: SamplingContext, n_max: int) -> np.ndarray:
        return ctx.random_order()
