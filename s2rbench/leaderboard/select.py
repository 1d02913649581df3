"""Choosing entries by file or id (for `s2rbench leaderboard reproduce`), with their task cards."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from . import submission as S


def select_entries(root: Path, names: tuple[str, ...] | list[str]) -> tuple[list[tuple[Path, dict[str, Any], Any]], list[str]]:
    """([(file, submission, card)], problems). ``names``: files or ids; empty: every entry under root."""
    from ..plugins import get_registry
    from .page import scan

    cards = get_registry().tasks
    files = [root / rel for rel in scan(root)[0]]
    by_id = {p.stem: p for p in files}
    chosen, problems = [], []
    wanted = list(names) or [str(p) for p in files]
    for name in wanted:
        path = Path(name)
        if not path.is_file():
            if name in by_id:
                path = by_id[name]
            else:
                problems.append(f"{name}: no such submission file or id under {root / 'submissions'}")
                continue
        sub, err = S.load_json(path)
        if err:
            problems.append(f"{path}: {err}")
            continue
        found = S.schema_problems(sub) or S.structure_problems(sub)
        if found:
            problems += [f"{path}: {p}" for p in found]
            continue
        card = cards.get(sub["task"]["name"])
        if card is None and sub["task"].get("card"):
            card, found = S.travelling_card(sub)
            problems += [f"{path}: {p}" for p in found]
        if card is None:
            if not found:
                problems.append(f"{path}: task.name: {sub['task']['name']!r} is not a registered task and carries no card")
            continue
        chosen.append((path, sub, card))
    return chosen, problems
