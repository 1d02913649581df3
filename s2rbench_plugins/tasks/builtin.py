"""Registers the built-in task cards shipped in ``s2rbench_plugins/tasks/cards/``."""

from __future__ import annotations

from s2rbench.hookspecs import hookimpl
from s2rbench.tasks import builtin_card_dir, load_card


@hookimpl
def register_tasks(register):
    for path in sorted(builtin_card_dir().glob("*.toml")):
        register(load_card(path))
