"""The run directory as a place on disk: may we write there, and is anyone else writing?

Why: ``--out`` used to accept any directory, so pointing it at a folder of one's own overwrote the
``report.md`` and ``mae_vs_n.png`` there; and two processes started on one run directory
interleaved their rows under one configuration. `check_out_dir` refuses a directory that exists,
is not a run (no ``results.sqlite``) and is not empty, and says in one line why a path cannot be
written (below a regular file, no permission, read-only file system). `run_lock` holds an exclusive
``fcntl.flock`` on ``.s2rbench.lock`` in the run directory for the whole run: a second process
waits up to `LOCK_WAIT_S` seconds (``S2RBENCH_LOCK_WAIT``), then is refused with one line naming
the holder (pid, host, command, start time, written into the lock file). The kernel drops the lock
when its holder dies, so a killed run never leaves a stale lock behind.
"""

from __future__ import annotations

import errno
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

from ..errors import S2RBenchError

DB_NAME = "results.sqlite"
LOCK_NAME = ".s2rbench.lock"

#: seconds a second process waits for the run directory's lock before it is refused
LOCK_WAIT_S = 5.0

#: files a run writes itself: a directory holding only these (without a store) counts as empty
_OWN = {LOCK_NAME}


def os_reason(exc: OSError) -> str:
    """A short human reason for an OSError (no errno numbers, no Python names)."""
    return {
        errno.ENOSPC: "no space left on the device",
        errno.EACCES: "permission denied",
        errno.EPERM: "operation not permitted",
        errno.EROFS: "read-only file system",
        errno.ENOTDIR: "a part of the path is a file, not a directory",
        errno.EEXIST: "a file of that name exists",
        errno.ENOENT: "no such file or directory",
        errno.EDQUOT: "disk quota exceeded",
    }.get(exc.errno or -1, (exc.strerror or str(exc)).lower())


def is_run(path: Path) -> bool:
    return (Path(path) / DB_NAME).is_file()


def check_out_dir(path: str | os.PathLike) -> Path:
    """Make sure ``path`` can be (or already is) a run directory, and create it; else one line."""
    path = Path(path)
    for parent in [path, *path.parents]:
        if parent.exists() and not parent.is_dir():
            raise S2RBenchError(f"--out {path}: {parent} is a file, not a directory; choose another --out")
    if path.is_dir() and not is_run(path):
        try:
            entries = sorted(p.name for p in path.iterdir() if p.name not in _OWN)
        except OSError as exc:
            raise S2RBenchError(f"--out {path} cannot be read ({os_reason(exc)}); choose another --out") from None
        if entries:
            shown = ", ".join(entries[:3]) + (", ..." if len(entries) > 3 else "")
            raise S2RBenchError(
                f"--out {path} is not an s2rbench run directory and not empty ({shown}); "
                "its files would be overwritten: choose a new or empty directory"
            )
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise S2RBenchError(f"--out {path} cannot be created ({os_reason(exc)}); choose another --out") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise S2RBenchError(f"--out {path} is not writable (permission denied); choose another --out")
    return path


def _holder(fh) -> str:
    try:
        fh.seek(0)
        info = json.loads(fh.read() or "{}")
        return (
            f"pid {info.get('pid')} on {info.get('host')} ({info.get('command', '?')}, since {info.get('since', '?')})"
        )
    except (ValueError, OSError):
        return "another process"


@contextmanager
def run_lock(run_dir: str | os.PathLike, wait: float | None = None) -> Iterator[None]:
    """Hold the run directory's exclusive lock for the body; refuse in one line if another holds it."""
    import fcntl  # POSIX; a platform without it (Windows) is not supported by the sweep

    if wait is None:
        try:
            wait = float(os.environ.get("S2RBENCH_LOCK_WAIT", LOCK_WAIT_S))
        except ValueError:
            wait = LOCK_WAIT_S
    path = Path(run_dir) / LOCK_NAME
    try:
        fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115  closed by `with fh:` below, outside this OSError handler
    except OSError as exc:
        raise S2RBenchError(f"cannot lock run directory {run_dir} ({os_reason(exc)}); choose another --out") from None
    with fh:  # closing the descriptor (also when the body raises) releases the flock
        deadline = time.monotonic() + max(0.0, wait)
        while True:
            try:
                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    raise S2RBenchError(f"cannot lock run directory {run_dir} ({os_reason(exc)})") from None
                if time.monotonic() >= deadline:
                    raise S2RBenchError(
                        f"run directory {run_dir} is in use by {_holder(fh)}; wait until it finishes "
                        "(it resumes from there), or choose another --out"
                    ) from None
                time.sleep(0.1)
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(
                json.dumps(
                    {
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "command": " ".join(["s2rbench", *sys.argv[1:]])[:200],
                        "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                    }
                )
            )
            fh.flush()
        except OSError:  # the holder info is a courtesy; the lock itself is held
            pass
        yield
