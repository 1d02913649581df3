"""Atomic file writes: a file is either its old content or its complete new content, never half.

Why: a full disk or a crash in the middle of writing ``report.md``, a figure, an export or a
feature-cache file left a truncated file in place of a good one (and ``.tmp`` files behind). Every
writer goes through one of these helpers: the content is written to a temporary file in the same
directory (same file system, so the rename is atomic), flushed and fsync'ed, then renamed over the
destination; on any error the temporary file is removed and the destination is untouched, and an
`OSError` becomes one `S2RBenchError` line naming the file and the reason (a full disk says so).

- `atomic_write(path, data)`: bytes or text.
- `atomic_path(path)`: a context manager yielding a temporary path with the destination's suffix,
  for writers that want a file name (``fig.savefig(tmp)``, ``frame.to_parquet(tmp)``).
"""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from .errors import S2RBenchError


def _reason(exc: OSError) -> str:
    if exc.errno == errno.ENOSPC:
        return "no space left on the device; free some space and try again"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied; choose a writable place"
    if exc.errno == errno.EROFS:
        return "read-only file system; choose a writable place"
    if exc.errno == errno.ENOENT:
        return "its directory does not exist; create it first"
    if exc.errno == errno.ENOTDIR:
        return "a part of its path is a file, not a directory"
    return (exc.strerror or str(exc)).lower()


def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary file name beside ``path`` (same suffix); on success it replaces ``path``."""
    path = Path(path)
    directory = path.parent if str(path.parent) else Path(".")
    if not directory.is_dir():
        raise S2RBenchError(f"cannot write {path}: directory {directory} does not exist; create it first")
    try:
        fd, tmp_name = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=f".tmp{path.suffix}")
    except OSError as exc:
        raise S2RBenchError(f"cannot write {path}: {_reason(exc)}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
        _fsync_dir(directory)
    except OSError as exc:
        raise S2RBenchError(f"cannot write {path}: {_reason(exc)}") from None
    finally:
        if tmp.exists():
            with suppress(OSError):
                tmp.unlink()


def atomic_write(path: str | os.PathLike, data: bytes | str, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` atomically (see the module docstring); return ``path``."""
    path = Path(path)
    payload = memoryview(data.encode(encoding) if isinstance(data, str) else bytes(data))
    with atomic_path(path) as tmp:
        fd = os.open(tmp, os.O_WRONLY | os.O_TRUNC)
        try:
            while payload:
                payload = payload[os.write(fd, payload) :]
        finally:
            os.close(fd)
    return path
