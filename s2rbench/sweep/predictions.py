"""Each trial's predictions on its real test rows, kept so that a result can be rescored.

Why: a stored MAE is a claim; the predictions are the evidence. The leaderboard check rescores
them against the task's own data and the split it re-derives from (data fingerprint, seed, trial),
so an edited MAE no longer passes (issue 18). Predictions are kept as float32 (4 bytes a test row):
rounding a prediction to float32 moves it by at most 2^-24 of its size, so an MAE recomputed from
them differs from the stored float64 one by at most ~6e-8 of the mean |prediction|, far below any
difference between two models. The test row indices are kept beside them (int32) so that a store
says by itself which rows were scored.

`run_unit` adds `KEY` to each trial's row dict; `s2rbench.sweep.store.Store.commit` writes it to the
``predictions`` table in the same transaction as the row.
"""

from __future__ import annotations

import base64

import numpy as np

#: The row-dict key `run_unit` fills and the store writes to its ``predictions`` table.
KEY = "test_predictions"
#: The row-dict key of the test row indices (into the task's real table, after featurizing).
ROWS_KEY = "test_rows"
#: How a submission encodes one trial's predictions.
ENCODING = "float32-le-base64"


def trial_entries(preds: np.ndarray, test: np.ndarray) -> dict[str, bytes]:
    """The two blobs of one trial: predictions on ``test`` (float32 LE) and ``test`` itself (int32 LE)."""
    return {
        KEY: np.ascontiguousarray(preds[test], dtype="<f4").tobytes(),
        ROWS_KEY: np.ascontiguousarray(test, dtype="<i4").tobytes(),
    }


def from_blob(blob: bytes | None, dtype: str = "<f4") -> np.ndarray | None:
    return None if blob is None else np.frombuffer(blob, dtype=dtype)


def encode(values: np.ndarray | bytes) -> str:
    """A submission's text form of one trial's predictions."""
    raw = values if isinstance(values, (bytes, bytearray)) else np.ascontiguousarray(values, dtype="<f4").tobytes()
    return base64.b64encode(bytes(raw)).decode("ascii")


def decode(text: str, max_rows: int | None = None) -> np.ndarray:
    """Predictions from their text form; raises ValueError on anything else (or more than ``max_rows``)."""
    if not isinstance(text, str):
        raise ValueError("not a string")
    if max_rows is not None and len(text) > 4 * (4 * max_rows + 2) // 3 + 4:
        raise ValueError(f"more than {max_rows} values")
    raw = base64.b64decode(text.encode("ascii"), validate=True)
    if len(raw) % 4:
        raise ValueError("not a whole number of float32 values")
    out = np.frombuffer(raw, dtype="<f4").astype(np.float64)
    if not np.all(np.isfinite(out)):
        raise ValueError("non-finite values")
    return out
