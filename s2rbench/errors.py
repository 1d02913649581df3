"""The one exception type a user can cause.

Anything a user can get wrong (a task name, a file, a hash, a column, a bad argument) raises
`S2RBenchError` with a one-line message that names the culprit and the fix. The CLI prints the
message and exits non-zero; any other exception is a bug and keeps its traceback.
"""

from __future__ import annotations


class S2RBenchError(Exception):
    """A user-facing error whose message is a single line naming the culprit and the fix."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
