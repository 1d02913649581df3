"""Data files: named by canonical URL + sha256, read from a local mirror or downloaded into a cache.

Order of lookup for a file entry of a card: a mirror directory (``--data-dir`` or
``S2RBENCH_DATA_DIR``) holding the entry's ``mirror`` path; a local ``path`` relative to the card;
the download cache (``S2RBENCH_CACHE_DIR`` or ``~/.cache/s2rbench``), filled by pooch from the URL.
Every file is checked against its sha256 wherever it comes from, so data cannot silently change
under a recorded hash.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import sys
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import S2RBenchError

DATA_DIR_ENV = "S2RBENCH_DATA_DIR"
CACHE_DIR_ENV = "S2RBENCH_CACHE_DIR"

if TYPE_CHECKING:
    from .card import TaskCard


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_DIR_ENV) or Path.home() / ".cache" / "s2rbench").expanduser()


def mirror_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    raw = data_dir if data_dir is not None else os.environ.get(DATA_DIR_ENV)
    return Path(raw).expanduser() if raw else None


@dataclass(frozen=True)
class FileEntry:
    """One data file of a card: where it lives publicly, its hash, and where a mirror keeps it."""

    key: str
    url: str | None = None
    sha256: str | None = None
    mirror: str | None = None
    path: str | None = None
    licence: str | None = None
    citation: str | None = None

    @property
    def filename(self) -> str:
        if self.mirror:
            return Path(self.mirror).name
        if self.path:
            return Path(self.path).name
        assert self.url
        return self.url.rsplit("/", 1)[-1]


_hash_memo: dict[tuple[str, int, int], str] = {}


def sha256_of(path: Path) -> str:
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _hash_memo:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
        _hash_memo[key] = h.hexdigest()
    return _hash_memo[key]


# ---------------------------------------------------------------------------------------------
# What a card may point at: https only, and paths that stay in the card's folder or the mirror
# ---------------------------------------------------------------------------------------------


def _address_problem(host: str) -> str | None:
    try:
        addr = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if addr.is_loopback:
        return f"{host} is a loopback address (this machine)"
    if addr.is_private or addr.is_link_local or addr.is_reserved or addr.is_multicast or addr.is_unspecified:
        return f"{host} is a private or reserved network address"
    return None


def url_problem(url: str) -> str | None:
    """Why a card's `url` is refused (None: it is acceptable): only public https addresses are fetched."""
    try:
        parts = urllib.parse.urlsplit(url)
    except ValueError:
        return "it is not a valid address; give an https:// address"
    scheme = parts.scheme.lower()
    if scheme == "file":
        return "file:// addresses read this machine's files; use a local `path` next to the card instead"
    if scheme != "https":
        what = (
            "plain http is not encrypted, so the download can be altered"
            if scheme == "http"
            else f"scheme {scheme or 'none'!r}"
        )
        return f"{what}; only https:// addresses are downloaded"
    host = (parts.hostname or "").lower()
    if not host:
        return "it names no host; give an https:// address"
    if host == "localhost" or host.endswith(".localhost"):
        return f"{host} is this machine (loopback); give a public https:// address"
    problem = _address_problem(host)
    return f"{problem}; give a public https:// address" if problem else None


def _resolved_host_problem(url: str) -> str | None:
    """A host name that resolves to a loopback or private address is refused too (checked before downloading)."""
    import socket

    host = urllib.parse.urlsplit(url).hostname or ""
    try:
        infos = socket.getaddrinfo(host, 443, proto=socket.IPPROTO_TCP)
    except OSError:
        return None  # unresolvable: the download fails with its own message
    for info in infos:
        problem = _address_problem(str(info[4][0]))
        if problem:
            return f"{host} resolves to {info[4][0]}: {problem.split(' is ', 1)[-1]}"
    return None


def relative_path_problem(rel: str) -> str | None:
    """Why a card's `path`/`mirror` text is refused before anything is resolved (absolute, or `..`)."""
    p = Path(rel)
    if p.is_absolute() or rel.startswith(("~", "\\")) or (len(rel) > 1 and rel[1] == ":"):
        return "is an absolute path, which may point anywhere on this machine"
    if ".." in p.parts:
        return "climbs out of its folder with `..`"
    return None


def _inside(path: Path, roots: list[Path]) -> bool:
    real = path.resolve()
    return any(real == r or r in real.parents for r in (root.resolve() for root in roots))


def _check(path: Path, entry: FileEntry, where: str) -> Path:
    if entry.sha256:
        got = sha256_of(path)
        if got != entry.sha256.lower():
            raise S2RBenchError(
                f"{where} {path} has sha256 {got[:12]}…, but the card expects {entry.sha256[:12]}… for file "
                f"{entry.key!r}; the file changed or is corrupted: delete it (it will be downloaded again) "
                "or point --data-dir at an intact copy"
            )
    return path


def fetch(entry: FileEntry, *, card_dir: Path | None = None, data_dir: str | os.PathLike | None = None) -> Path:
    """Return a local path to the entry's verified file, downloading it if needed."""
    mirror = mirror_dir(data_dir)
    for key in ("path", "mirror"):
        rel = getattr(entry, key)
        problem = relative_path_problem(rel) if rel else None
        if problem:
            raise S2RBenchError(f"`{key}` {rel!r} {problem}; give a path inside the card's folder or the data mirror")
    if mirror is not None:
        rel = entry.mirror or entry.path or entry.filename
        for candidate in (mirror / rel, mirror / entry.filename):
            if candidate.is_file():
                if not _inside(candidate, [mirror]):
                    raise S2RBenchError(
                        f"mirror file {candidate} is a link that leaves the data mirror {mirror}; "
                        "replace the link by the file"
                    )
                return _check(candidate, entry, "mirror file")
    if entry.path:
        local = Path(entry.path)
        if card_dir is not None:
            local = card_dir / local
        if local.is_file():
            roots = [r for r in (card_dir, mirror) if r is not None]
            if roots and not _inside(local, roots):
                raise S2RBenchError(
                    f"`path` {entry.path!r} resolves to {local.resolve()}, outside the card's folder {card_dir} (a link?); "
                    "put the table itself in the card's folder"
                )
            return _check(local, entry, "local file")
        if not entry.url:
            raise S2RBenchError(
                f"data file {entry.key!r} not found at {local}; put the file there or fix `path` in the card"
            )
    if not entry.url:
        raise S2RBenchError(f"data file {entry.key!r} has neither a url nor a path in the card; add one")
    problem = url_problem(entry.url)
    if problem:
        raise S2RBenchError(f"url {entry.url!r} is refused: {problem}")
    target_dir = cache_dir() / "data" / (entry.sha256 or "unhashed")[:16]
    cached = target_dir / entry.filename
    if cached.is_file():
        return _check(cached, entry, "cached file")
    problem = _resolved_host_problem(entry.url)
    if problem:
        raise S2RBenchError(f"url {entry.url!r} is refused: {problem}; give a public https:// address")
    import pooch  # imported lazily: only downloads need it

    try:
        fname = pooch.retrieve(
            entry.url,
            known_hash=f"sha256:{entry.sha256}" if entry.sha256 else None,
            fname=entry.filename,
            path=target_dir,
            # a progress bar (tqdm, a dependency) on an interactive terminal only: logs and CI stay clean
            progressbar=sys.stderr.isatty(),
        )
    except ValueError as exc:  # pooch's hash mismatch
        raise S2RBenchError(
            f"download of {entry.url} for file {entry.key!r} does not match its sha256 ({exc}); "
            "the upstream file changed: report it, or use a mirror with --data-dir"
        ) from None
    except Exception as exc:
        where = f"{mirror}/{entry.mirror or entry.filename}" if mirror else f"{cached}"
        hint = (
            f"download it from {entry.url} and place it at {cached}, or set {DATA_DIR_ENV} (or --data-dir) "
            f"to a directory holding {entry.mirror or entry.filename}"
        )
        raise S2RBenchError(
            f"data file {entry.key!r} is missing ({where} not found) and could not be downloaded "
            f"({type(exc).__name__}); {hint}"
        ) from None
    return Path(fname)


def read_table(path: Path, *, what: str) -> pd.DataFrame:
    """Read a CSV or Parquet table; a malformed file is a one-line error naming it."""
    try:
        if path.suffix.lower() in {".parquet", ".pq"}:
            frame = pd.read_parquet(path)
        else:
            frame = pd.read_csv(path)
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise S2RBenchError(
            f"{what}: cannot read {path} ({first}); fix the file or point the card at a valid CSV/Parquet"
        ) from None
    if frame.empty:
        raise S2RBenchError(f"{what}: table {path} has no rows; point the card at a table with data")
    return frame


def fetch_file(card: TaskCard, key: str, data_dir: str | os.PathLike | None = None) -> Path:
    """The verified local copy of the card's file `key`; problems name the card and [files.KEY]."""
    entry = card.files[key]
    where = f"{card.where} [files.{key}]"
    if entry.url:
        try:
            return fetch(entry, card_dir=card.card_dir, data_dir=data_dir)
        except S2RBenchError as exc:
            raise S2RBenchError(f"{where}: {exc}") from None
    # a user's own file (a `path`, no url): nothing to download, so a changed file is re-pinned, not deleted
    from dataclasses import replace

    try:
        path = fetch(replace(entry, sha256=None), card_dir=card.card_dir, data_dir=data_dir)
    except S2RBenchError as exc:
        raise S2RBenchError(f"{where}: {exc}") from None
    if entry.sha256:
        got = sha256_of(path)
        if got != entry.sha256.lower():
            raise S2RBenchError(
                f"{where}: local file {path} has sha256 {got[:12]}…, but the card expects {entry.sha256[:12]}…; if you "
                f"changed the file on purpose run `s2rbench task hash {card.path or card.name}`, otherwise delete it and "
                "put the original back"
            )
    return path
