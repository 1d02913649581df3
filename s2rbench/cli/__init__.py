"""The command line: one module per command family, each exposing ``register(cli)``.

``main.py`` holds the group, its one-line error handling and the core commands (list, plugins, run,
fit, report, export); the families live beside it. Nothing here computes: every command parses,
calls the Python API and prints.
"""

from .main import cli, main, parse_params

__all__ = ["cli", "main", "parse_params"]
