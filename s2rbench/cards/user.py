"""The task cards of the directories on ``S2RBENCH_TASKS_PATH``, as plain data.

`user_cards` returns the cards, where they came from and one line per card refused; the plugin
registry records them like a plugin's cards. It lives here, below the registry, because the
registry calls it while it collects: it needs the card parser only, never the registry's types,
and a bad card there is one reported problem, not a failure of every command.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import S2RBenchError
from .card import TaskCard, load_card

TASKS_PATH_ENV = "S2RBENCH_TASKS_PATH"


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
