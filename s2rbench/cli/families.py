"""The core's command families as plugins of the ``register_commands`` hook.

Each family (``task``, ``planning``, ``leaderboard``, ``samplers``) has its own entry point in
pyproject.toml, exactly as a third-party package adds a command (simonw/llm registers its default
commands the same way): the command line is assembled through one path, and a broken family is one
listed problem while the others keep working. The family module is imported when its hook runs.
"""

from __future__ import annotations

import importlib
from typing import Any

from ..hookspecs import hookimpl


class CommandFamily:
    """A plugin object whose ``register_commands`` calls ``register(cli)`` of one module of s2rbench.cli."""

    def __init__(self, module: str) -> None:
        self.module = module

    @hookimpl
    def register_commands(self, cli: Any) -> None:
        importlib.import_module(f"{__package__}.{self.module}").register(cli)

    def __repr__(self) -> str:
        return f"CommandFamily({self.module!r})"


task = CommandFamily("task")
planning = CommandFamily("planning")
leaderboard = CommandFamily("leaderboard")
samplers = CommandFamily("samplers")
