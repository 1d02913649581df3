"""Which card a task name or path means: the registered tasks, card files, and S2RBENCH_TASKS_PATH.

Name resolution is a look-up in the plugin registry, so this module sits above it (the registry
< tasks). The registry needs only the card itself (`s2rbench.cards`: TaskCard, the parser, the
cards of ``S2RBENCH_TASKS_PATH``), which lies below it: one direction, no cycle. `user_cards`
and `TASKS_PATH_ENV` live in `s2rbench.cards.user` and stay importable from here.
"""

from __future__ import annotations

import os
from pathlib import Path

from .. import registry
from ..cards.card import TaskCard, _where, load_card
from ..cards.user import TASKS_PATH_ENV, UserCards, user_cards
from ..errors import S2RBenchError

__all__ = [
    "TASKS_PATH_ENV",
    "UserCards",
    "builtin_card_dir",
    "check_unique_name",
    "get_task",
    "user_cards",
]


def builtin_card_dir() -> Path:
    """The folder of the cards shipped with s2rbench (registered by the built-in `cards` plugin).

    Found through the installed distribution's files rather than by importing the plugin package:
    the core never imports `s2rbench_plugins` (the layering contract in pyproject.toml)."""
    import importlib.util

    spec = importlib.util.find_spec("s2rbench_plugins.tasks")
    if spec is None or not spec.submodule_search_locations:
        raise S2RBenchError(
            "the built-in task cards are not installed (package s2rbench_plugins missing); reinstall s2rbench"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "cards"


def get_task(name_or_path: str | os.PathLike) -> TaskCard:
    """A registered task by name, or a card file by path (anything ending in .toml)."""
    s = str(name_or_path)
    if s.endswith(".toml") or os.sep in s:
        card = load_card(s)
        check_unique_name(card)
        return card
    return registry._lookup("tasks", s)


def check_unique_name(card: TaskCard) -> None:
    """A card file must not reuse the name of another registered task (results are stored by task name)."""
    other = registry.get_registry().tasks.get(card.name)
    if other is None:
        return
    other_path = getattr(other, "path", None)
    if card.path is not None and other_path is not None and Path(other_path).resolve() == Path(card.path).resolve():
        return
    if getattr(other, "hash", None) == card.hash:  # the same card, e.g. a copy of a built-in one: the same task
        return
    info = registry.plugin_of("tasks", card.name)
    src = f"{other_path}" if other_path else (f"plugin {info.name!r}" if info else "another plugin")
    raise S2RBenchError(
        f"{_where(card.path, card.name)} names task {card.name!r}, which is already registered ({src}); "
        "give this card another `name`"
    )
