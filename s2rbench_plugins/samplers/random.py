"""Registers the default `random` sampler (its code is in the core: every run uses it)."""

from s2rbench.contracts.sampler import RandomSampler
from s2rbench.hookspecs import hookimpl


@hookimpl
def register_samplers(register):
    register(RandomSampler())
