"""`s2rbench task hash`: pin the sha256 of every file a card names, editing only those lines.

The card's text is edited in place, only the ``sha256`` line of each ``[files.KEY]`` table, so
comments and layout stay; the edit is verified by re-parsing (it must change the sha256 values and
nothing else).
"""

from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import tomllib

from ..cards import files as data_mod
from ..cards.card import TaskCard, _where, load_card
from ..cards.files import fetch_file
from ..errors import S2RBenchError

# ---------------------------------------------------------------------------------------------
# task hash
# ---------------------------------------------------------------------------------------------

_HEADER = re.compile(r"""^\s*\[\s*files\s*\.\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*\]\s*(?:#.*)?$""")
_ANY_HEADER = re.compile(r"^\s*\[")
_SHA_LINE = re.compile(r"""^(\s*)sha256\s*=\s*(?:"[^"]*"|'[^']*')(.*)$""")
_ANCHOR_LINE = re.compile(r"^\s*(path|url|mirror)\s*=")


def _table_spans(lines: list[str]) -> dict[str, tuple[int, int]]:
    """[files.KEY] header line -> (header index, end index exclusive), skipping multi-line strings."""
    spans: dict[str, tuple[int, int]] = {}
    in_string: str | None = None
    current: tuple[str, int] | None = None
    for i, line in enumerate(lines):
        if in_string is None and _ANY_HEADER.match(line):
            if current:
                spans[current[0]] = (current[1], i)
                current = None
            m = _HEADER.match(line)
            if m:
                key = m.group(1) if m.group(1) is not None else (m.group(2) if m.group(2) is not None else m.group(3))
                current = (key, i)
        for q in ('"""', "'''"):
            if line.count(q) % 2 == 1 and (in_string in (None, q)):
                in_string = None if in_string == q else q
    if current:
        spans[current[0]] = (current[1], len(lines))
    return spans


def set_sha256(text: str, key: str, sha: str, where: str) -> str:
    """The card text with `sha256 = "<sha>"` in its [files.KEY] table; every other byte is kept."""
    lines = text.splitlines(keepends=True)
    spans = _table_spans(lines)
    if key not in spans:
        raise S2RBenchError(
            f"{where}: file {key!r} is not written as a [files.{key}] table, so its sha256 cannot be filled in; "
            f'write it as a [files.{key}] table, or add `sha256 = "{sha}"` by hand'
        )
    start, end = spans[key]
    for i in range(start + 1, end):
        m = _SHA_LINE.match(lines[i].rstrip("\r\n"))
        if m:
            eol = lines[i][len(lines[i].rstrip("\r\n")) :]
            lines[i] = f'{m.group(1)}sha256 = "{sha}"{m.group(2)}{eol or chr(10)}'
            return "".join(lines)
    anchor = next((i for i in range(start + 1, end) if _ANCHOR_LINE.match(lines[i])), start)
    if not lines[anchor].endswith("\n"):
        lines[anchor] += "\n"
    lines.insert(anchor + 1, f'sha256 = "{sha}"\n')
    return "".join(lines)


def _locate_for_hash(card: TaskCard, key: str, data_dir) -> Path:
    entry = card.files[key]
    if entry.path:
        local = Path(entry.path)
        if not local.is_absolute() and card.card_dir is not None:
            local = card.card_dir / local
        if local.is_file():
            if card.card_dir is not None and not data_mod._inside(local, [card.card_dir]):
                raise S2RBenchError(
                    f"{_where(card.path, card.name)} [files.{key}]: `path` {entry.path!r} resolves to "
                    f"{local.resolve()}, outside the card's folder (a link?); put the table itself there"
                )
            return local
    if entry.url and entry.sha256:
        return fetch_file(card, key, data_dir)  # a pinned download is verified, never re-pinned
    try:
        return data_mod.fetch(replace(entry, sha256=None), card_dir=card.card_dir, data_dir=data_dir)
    except S2RBenchError as exc:
        raise S2RBenchError(f"{_where(card.path, card.name)} [files.{key}]: {exc}") from None


def hash_card(path: str | os.PathLike, *, data_dir: str | os.PathLike | None = None) -> list[dict[str, Any]]:
    """Write the sha256 of every file of the card at `path` into it; returns one row per file.

    Local files (`path`) are always re-hashed: that is how a changed table is re-pinned. A file
    downloaded from a `url` whose sha256 is already given is verified instead (an upstream change
    is an error, never silently accepted); delete its sha256 line to pin the new content.
    """
    path = Path(path)
    card = load_card(path)
    where = _where(path, card.name)
    if card.loader != "tables" and not card.files:
        raise S2RBenchError(f"{where} names no data files (loader {card.loader!r}); nothing to hash")
    text = original = path.read_text()
    rows = []
    for key, entry in card.files.items():
        f = _locate_for_hash(card, key, data_dir)
        sha = data_mod.sha256_of(f)
        old = (entry.sha256 or "").lower()
        status = "unchanged" if old == sha else ("added" if not old else "updated")
        if status != "unchanged":
            text = set_sha256(text, key, sha, where)
        rows.append({"file": key, "path": str(f), "sha256": sha, "status": status, "previous": old or None})
    if text != original:
        raw_new = tomllib.loads(text)
        raw_old = tomllib.loads(original)
        for r in rows:
            raw_old.setdefault("files", {}).setdefault(r["file"], {})["sha256"] = r["sha256"]
        if raw_new != raw_old:  # the edit must change the sha256 values and nothing else
            raise S2RBenchError(
                f"{where}: could not edit the sha256 lines safely; set them by hand: "
                + ", ".join(f'[files.{r["file"]}] sha256 = "{r["sha256"]}"' for r in rows)
            )
        tmp = path.with_suffix(".toml.tmp")
        tmp.write_text(text)
        tmp.replace(path)
    return rows
