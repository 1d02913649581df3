"""Hook specifications: the extension points of s2rbench, and nothing else.

Each object hook receives a ``register`` callback rather than returning objects, so that the host
can validate every object as it arrives (right base class, an instance, a name and a version, and
it pickles) and record which plugin provided it (its name and version go into every result). A
refused object is one line in ``s2rbench plugins``; the plugin's other objects still register.

docs/plugins.md documents every hook with its signature and a worked example; a test holds the two
in step (tests/registry/test_plugin_guide.py).
"""

from __future__ import annotations

import pluggy

hookspec = pluggy.HookspecMarker("s2rbench")
hookimpl = pluggy.HookimplMarker("s2rbench")


@hookspec
def register_tasks(register):
    """Register tasks: call ``register(card)`` with a `s2rbench.tasks.TaskCard` (e.g. from
    `s2rbench.tasks.load_card`) or with the path of a card file (``str`` or ``os.PathLike``)."""


@hookspec
def register_models(register):
    """Register models: call ``register(model)`` with an *instance* of a `s2rbench.models.Model`
    subclass (its defaults; ``with_params`` derives the configured copies)."""


@hookspec
def register_featurizers(register):
    """Register featurizers: call ``register(featurizer)`` with an instance of a
    `s2rbench.featurizers.Featurizer` subclass."""


@hookspec
def register_loaders(register):
    """Register table loaders: call ``register(name, loader)``; ``loader(card, data_dir)`` returns a
    `s2rbench.tasks.TaskTables`.

    A loader turns a task card into its simulated and real tables; the default ``tables`` loader
    reads the files a card names. A plugin registers another only when a source needs code
    (a generator, a join between files).
    """


@hookspec
def register_samplers(register):
    """Register samplers: call ``register(sampler)`` with an instance of a `s2rbench.samplers.Sampler`
    subclass.

    A sampler decides which simulated rows a trial pretrains on: it returns an ordering of the
    simulated pool whose first n rows are the pretraining set of size n (nested across n).
    """


@hookspec
def register_commands(cli):
    """Add commands to the command line: ``cli`` is the `click.Group` of ``s2rbench``; call
    ``cli.command()`` / ``cli.add_command(...)`` on it.

    The core's own command families register through this hook too. A plugin that raises here, or
    that reuses a command name already taken, is a listed problem; the other commands keep working.
    """
