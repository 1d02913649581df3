"""Choosing entries by file or id (for `s2rbench leaderboard reproduce`), with their task cards."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from . import submission as S


def select_entries(
    root: Path, names: tuple[str, ...] | list[str]
) -> tuple[list[tuple[Path, dict[str, Any], Any]], list[str]]:
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
        sub, found = S.read_entry(path)
        if found:
            problems += [f"{path}: {p}" for p in found]
            continue
        card = cards.get(sub["task"]["name"])
        if card is None and sub["task"].get("card"):
            card, found = S.travelling_card(sub)
            problems += [f"{path}: {p}" for p in found]
        if card is None:
            if not found:
                problems.append(
                    f"{path}: task.name: {sub['task']['name']!r} is not a registered task and carries no card"
                )
            continue
        chosen.append((path, sub, card))
    return chosen, problems


#: A distribution name (PEP 508 / PEP 503) and an exact version: nothing else reaches `pip install`.
_DIST = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,98}[A-Za-z0-9])?$")
_VERSION = re.compile(r"^[0-9]+(\.[0-9]+)*([._-]?(a|b|rc|post|dev)[0-9]*)*(\+[A-Za-z0-9.]+)?$")


def plugin_requirements(sub: dict[str, Any]) -> tuple[list[str], list[str]]:
    """(``name==version`` lines, problems) for the plugin distributions an entry names, s2rbench excepted.

    Each name and version is validated before it is printed, so a submission cannot hand pip an
    option (``--index-url …``), a URL or a path.
    """
    reqs, problems = [], []
    for section in ("task", "model", "featurizer", "sampler"):
        info = (sub.get(section) or {}).get("plugin") or {}
        dist, version = info.get("distribution"), info.get("version")
        if not dist or dist == "s2rbench":
            continue
        if (
            not isinstance(dist, str)
            or not _DIST.match(dist)
            or not isinstance(version, str)
            or not _VERSION.match(version)
        ):
            problems.append(
                f"{section}.plugin: {json.dumps(dist)} {json.dumps(version)} is not a distribution name and exact version"
            )
            continue
        line = f"{dist}=={version}"
        if line not in reqs:
            reqs.append(line)
    return reqs, problems
