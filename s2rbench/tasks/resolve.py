"""Which card a task name or path means: the registered tasks, card files, and S2RBENCH_TASKS_PATH.

`user_cards` reads the directories on ``S2RBENCH_TASKS_PATH`` and returns plain data (cards, where
they came from, problems); the plugin registry records them. So this module never needs the
registry's types, and a bad card there is one reported problem, not a failure of every command.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import S2RBenchError
from .card import TaskCard, _where, load_card

TASKS_PATH_ENV = "S2RBENCH_TASKS_PATH"


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


@dataclass
class UserCards:
    """The cards found on S2RBENCH_TASKS_PATH: (card, directory) pairs, and one line per card refused."""

    cards: list[tuple[TaskCard, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def user_cards(taken: set[str] | frozenset[str] = frozenset()) -> UserCards:
    """Load every card in the directories of S2RBENCH_TASKS_PATH (os.pathsep-separated).

    A card that fails to load, or names a task in `taken` (or one found earlier), is a problem, not an error.
    """
    out = UserCards()
    names = set(taken)
    raw = os.environ.get(TASKS_PATH_ENV, "")
    for d in filter(None, raw.split(os.pathsep)):
        for card_path in sorted(Path(d).expanduser().glob("*.toml")):
            try:
                card = load_card(card_path)
            except S2RBenchError as exc:
                out.problems.append(str(exc))
                continue
            if card.name in names:
                out.problems.append(
                    f"task card {card_path} names task {card.name!r}, which is already registered; rename it (`name` in the card)"
                )
                continue
            names.add(card.name)
            out.cards.append((card, str(d)))
    return out


def get_task(name_or_path: str | os.PathLike) -> TaskCard:
    """A registered task by name, or a card file by path (anything ending in .toml)."""
    s = str(name_or_path)
    if s.endswith(".toml") or os.sep in s:
        card = load_card(s)
        check_unique_name(card)
        return card
    from ..plugins import _lookup

    return _lookup("tasks", s)


def check_unique_name(card: TaskCard) -> None:
    """A card file must not reuse the name of another registered task (results are stored by task name)."""
    from ..plugins import get_registry, plugin_of

    other = get_registry().tasks.get(card.name)
    if other is None:
        return
    other_path = getattr(other, "path", None)
    if card.path is not None and other_path is not None and Path(other_path).resolve() == Path(card.path).resolve():
        return
    if getattr(other, "hash", None) == card.hash:  # the same card, e.g. a copy of a built-in one: the same task
        return
    info = plugin_of("tasks", card.name)
    src = f"{other_path}" if other_path else (f"plugin {info.name!r}" if info else "another plugin")
    raise S2RBenchError(
        f"{_where(card.path, card.name)} names task {card.name!r}, which is already registered ({src}); "
        "give this card another `name`"
    )
