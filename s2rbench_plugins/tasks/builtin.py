"""Registers the built-in task cards shipped in ``s2rbench_plugins/tasks/cards/``."""

from __future__ import annotations

from pathlib import Path

from s2rbench.hookspecs import hookimpl
from s2rbench.tasks import load_card


@hookimpl
def register_tasks(register):
    for path in sorted((Path(__file__).parent / "cards").glob("*.toml")):
        register(load_card(path))
