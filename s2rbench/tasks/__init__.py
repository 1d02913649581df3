"""Tasks: a card (TOML, no code) naming a simulated and a real table, parsed with one schema.

Modules by concern: `tables` (the two tables in standard columns), `resolve` (task names, card
paths, S2RBENCH_TASKS_PATH), and one module per authoring command: `init`, `pin` (``task hash``),
`check`. The card itself (`card`: the card and its schema; `files`: data files, mirror, download,
sha256) lives in `s2rbench.cards`, below the plugin registry, because the registry validates and
parses cards while this package resolves names through the registry (cards < registry < tasks);
`s2rbench.tasks.card` and `.files` are aliases of those modules. The public names stay importable
from ``s2rbench.tasks``.
"""

from __future__ import annotations

from ..cards.card import (
    CARD_FORMAT,
    DEFAULT_FEATURIZER,
    KNOWN_KEYS,
    Protocol,
    TableSpec,
    TaskCard,
    load_card,
    parse_card,
    unknown_keys,
)
from ..cards.files import FileEntry, fetch, fetch_file, read_table, sha256_of
from .resolve import TASKS_PATH_ENV, UserCards, builtin_card_dir, check_unique_name, get_task, user_cards
from .tables import TaskTables, load_tables, read_side, standardize, standardize_rows, tables_loader

__all__ = [
    "CARD_FORMAT",
    "DEFAULT_FEATURIZER",
    "KNOWN_KEYS",
    "TASKS_PATH_ENV",
    "FileEntry",
    "Protocol",
    "TableSpec",
    "TaskCard",
    "TaskTables",
    "UserCards",
    "builtin_card_dir",
    "check_unique_name",
    "fetch",
    "fetch_file",
    "get_task",
    "load_card",
    "load_tables",
    "parse_card",
    "read_side",
    "read_table",
    "sha256_of",
    "standardize",
    "standardize_rows",
    "tables_loader",
    "unknown_keys",
    "user_cards",
]
