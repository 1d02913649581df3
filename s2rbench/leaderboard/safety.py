"""A submission is hostile input: bounded before it is parsed, and its free text kept inert.

Why: the page (``leaderboard/README.md``) is rendered on the code host from the submissions' text
fields. Measured before this module: a name of ``<script>…``, an author of ``<img onerror=…>``, a
description with ``[click](javascript:…)`` and a URL that smuggled a remote (tracking) image all
reached the page verbatim and passed the check; a 50 MB file of whitespace passed; a deeply nested
file ended in a RecursionError traceback. So:

- **size and depth first**: `read_bounded` refuses a file over `MAX_BYTES` from its size on disk
  (before reading it) and one nested deeper than `MAX_DEPTH` from a scan of its brackets (before
  ``json.loads`` recurses), each with one line;
- **text fields are plain text** (`text_problems`): no HTML tags or entities, no markdown links,
  images or reference definitions, no URL schemes, no control characters — rejected by the check,
  with the field named;
- **the URL is https only**, parsed and validated (host name, no credentials, no brackets, quotes
  or spaces that could end a markdown link);
- **and the page escapes anyway** (`escape_cell`): every character markdown or HTML could read as
  syntax is backslash-escaped or an entity, so a field that slipped past a rule is still text.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

#: Largest submission file read (bytes). A full-protocol entry of a task with ~1000 real test rows
#: (100 trials x 8 cells of float32 predictions in base64) is ~4 MB.
MAX_BYTES = 16 * 1024 * 1024
#: Deepest nesting of arrays/objects (a submission needs 5; hyperparameters may nest a little).
MAX_DEPTH = 16
MAX_URL = 300

_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_BRACKET = re.compile(r"[\[\]{}]")
_HTML = re.compile(r"<\s*/?\s*[A-Za-z!?]|&#?[A-Za-z0-9]+;")
_MD_LINK = re.compile(r"\]\s*\(|!\s*\[|^\s*\[[^\]]*\]\s*:|\[[^\]]*\]\s*\[", re.M)
_SCHEME = re.compile(r"\b(?:javascript|data|vbscript|file|https?|ftp)\s*:", re.I)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")
_HOST = re.compile(r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$")
_URL_CHARS = re.compile(r"^[A-Za-z0-9._~!$&*+,;=:@%/?#-]*$")


class InputTooLarge(ValueError):
    """A file over the size or depth limit (message: one line, with the limit)."""


def read_bounded(path: Path, max_bytes: int = MAX_BYTES, max_depth: int = MAX_DEPTH) -> Any:
    """Parse ``path`` as JSON after checking its size on disk and its nesting depth.

    Raises `InputTooLarge` for either limit, OSError/UnicodeDecodeError for unreadable files and
    ValueError for invalid JSON (NaN and Infinity included).
    """
    size = path.stat().st_size
    if size > max_bytes:
        raise InputTooLarge(
            f"is {size / 2**20:.1f} MiB, over the {max_bytes / 2**20:.0f} MiB limit of a submission; "
            "regenerate it with `s2rbench submit` (nothing else belongs in it)"
        )
    with open(path, "rb") as fh:
        raw = fh.read(max_bytes + 1)
    text = raw.decode("utf-8")
    depth = deepest = 0
    for m in _BRACKET.finditer(_STRING.sub('""', text)):
        depth += 1 if m.group() in "[{" else -1
        if depth > deepest:
            deepest = depth
            if deepest > max_depth:
                raise InputTooLarge(
                    f"nests arrays/objects deeper than {max_depth} levels; a submission needs 5 — "
                    "regenerate it with `s2rbench submit`"
                )
    return json.loads(text, parse_constant=_reject_constant)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not allowed in JSON; use null")


def url_problem(url: str) -> str | None:
    """Why ``url`` is not a safe https address, or None."""
    if len(url) > MAX_URL:
        return f"is {len(url)} characters long; at most {MAX_URL}"
    if not _URL_CHARS.match(url):
        return "holds a space, bracket, quote, angle bracket or other character a markdown link could end at; percent-encode it"
    parts = urlsplit(url)
    if parts.scheme != "https":
        return "must be an https:// address"
    if "@" in parts.netloc:
        return "must not carry credentials (user@host)"
    host = parts.hostname or ""
    if not _HOST.match(host):
        return f"has no valid host name ({host!r}); use a public https://host/path address"
    return None


def text_problem(value: str) -> str | None:
    """Why a free-text field is not plain text, or None."""
    if _CONTROL.search(value):
        return "holds a control or bidirectional-override character"
    if _HTML.search(value):
        return "holds HTML (a tag or an entity); plain text only"
    if _MD_LINK.search(value):
        return "holds a markdown link, image or reference; plain text only (put one address in --url)"
    if _SCHEME.search(value):
        return "holds a URL or URL scheme; plain text only (put one https address in --url)"
    return None


def text_problems(fields: dict[str, Any]) -> list[str]:
    """One ``"<field> <value>: <why>"`` line per unsafe field of name/author/description/url."""
    out = []
    for key, value in fields.items():
        if value is None:
            continue
        if not isinstance(value, str):
            out.append(f"{key}: must be text")
            continue
        why = url_problem(value) if key == "url" else text_problem(value)
        if why:
            shown = value if len(value) <= 60 else value[:57] + "..."
            out.append(f"{key} {json.dumps(shown)}: {why}")
    return out


_ESCAPE = {c: "\\" + c for c in "\\`*_[]()!|~"}
_ESCAPE.update({"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;"})


def link_target(rel: Any) -> str:
    """A relative path as a link target that markdown cannot read as anything else."""
    from urllib.parse import quote

    return quote(str(rel).replace("\\", "/"), safe="/._-")


def escape_cell(text: Any) -> str:
    """``text`` as inert markdown on one line of a table cell."""
    flat = " ".join(_CONTROL.sub(" ", str(text)).split())
    return "".join(_ESCAPE.get(c, c) for c in flat)
