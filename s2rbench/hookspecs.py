"""Hook specifications: the extension points of s2rbench, and nothing else.

Each hook receives a ``register`` callback rather than returning objects, so that the host can
validate every object as it arrives and record which plugin provided it (its name and version go
into every result).
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("s2rbench")
hookimpl = pluggy.HookimplMarker("s2rbench")


@hookspec
def register_tasks(register):
    """Register tasks: call ``register(task)`` with a `s2rbench.tasks.Task` (or a card path)."""


@hookspec
def register_models(register):
    """Register models: call ``register(model_factory)`` with a `s2rbench.models.ModelSpec`."""


@hookspec
def register_featurizers(register):
    """Register featurizers: call ``register(featurizer)`` with a `s2rbench.featurizers.Featurizer`."""


@hookspec
def register_loaders(register):
    """Register table loaders: call ``register(name, function)``.

    A loader turns a task card into its simulated and real tables; the default ``tables`` loader
    reads the files a card names. A plugin registers another only when a source needs code
    (a generator, a join between files).
    """


@hookspec
def register_samplers(register):
    """Register samplers: call ``register(sampler)`` with a `s2rbench.samplers.Sampler`.

    A sampler decides which simulated rows a trial pretrains on: it returns an ordering of the
    simulated pool whose first n rows are the pretraining set of size n (nested across n).
    """
