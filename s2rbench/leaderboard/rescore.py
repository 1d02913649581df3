"""Rescoring a submission from the predictions it carries, against the task's own data.

Why: a submission's per-trial MAEs are claims; issue 18 showed that an edited MAE with a refitted
law and a recomputed content id passed the check. Now each trial's predictions on its real test
rows travel with the entry (`s2rbench.sweep.predictions`), and the check

1. loads the task's real table with the project's own loader and featurizer (only the real side:
   the simulated side is not needed to score, and featurizing 10^5 simulated rows is minutes),
   and requires its fingerprint to be the run's ``data.real``;
2. re-derives each trial's test rows and model seed from (real fingerprint, protocol seed, trial)
   with `s2rbench.sweep.protocol` — the functions the run used (a computed table may differ in its
   last float64 bits on another BLAS kernel; for a table a loader computes, the float32 fingerprint
   `fingerprint_f32` must then agree and the run's fingerprint fixes the split — the trial seeds
   derived from it are checked, and reproduction re-derives the split from the data itself);
3. recomputes every per-trial MAE from the predictions and compares it with ``results``: the
   predictions are float32, so the allowed difference is `RESCORE_RTOL` of the mean |prediction|
   (float32 rounding moves a value by at most 2^-24 ≈ 6e-8 of it; 1e-6 leaves room for summation
   order and still catches any edit a ranking would notice).

The stated fit is then recomputed from these (verified) MAEs by `s2rbench.leaderboard.fitcheck`.
The real side of a task is prepared once per (card, featurizer, split) and kept for the process.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..errors import S2RBenchError

#: Allowed |stated MAE - rescored MAE|, relative to the trial's mean |prediction|.
RESCORE_RTOL = 1e-6
#: At most this many per-cell mismatches are listed for one entry (then a count).
MAX_LISTED = 3


@dataclass(frozen=True)
class RealSide:
    """A task's real rows as a run sees them: targets (float32, as `prepare` keeps them), fingerprint, groups."""

    y: np.ndarray
    key: str
    groups: np.ndarray | None
    key_f32: str = ""  # `fingerprint_f32`: the same table at the float32 precision every model sees


_REAL: dict[tuple[str, str, str], RealSide] = {}


def real_side(card: Any, featurizer: str, split: str, data_dir: Any = None) -> RealSide:
    """The real side of `s2rbench.sweep.prepare` for ``card`` (same loader, featurizer, filtering)."""
    key = (card.hash, featurizer, split)
    if key in _REAL:
        return _REAL[key]
    from ..contracts.featurizer import InvalidInputsWarning
    from ..featurecache import cached_featurize
    from ..plugins import get_featurizer
    from ..sweep import protocol as proto
    from ..sweep.prepare import split_groups
    from ..tasks import load_tables

    feat = get_featurizer(featurizer)
    tables = load_tables(card, data_dir)
    frame = tables.real
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InvalidInputsWarning)
        fm = cached_featurize(feat, frame["input"].tolist(), what=f"{card.name} real")
    keep = np.ones(len(frame), bool)
    keep[fm.invalid] = False
    kept = frame[keep].reset_index(drop=True)
    canon = [c for c, k in zip(fm.canonical, keep) if k]
    groups = split_groups(split, kept, canon, tables.conditions)  # the sweep's own rule
    side = RealSide(
        y=kept["target"].to_numpy(dtype=np.float32),
        key=proto.fingerprint(kept),
        groups=groups,
        key_f32=fingerprint_f32(kept),
    )
    _REAL[key] = side
    return side


def fingerprint_f32(frame: Any) -> str:
    """sha256 of a standardized table with every number rounded to float32.

    Why: a task whose tables are *computed* (the synthetic task's generator multiplies matrices)
    gets last-bit differences on another BLAS kernel — measured: the synthetic real table's float64
    fingerprint is e79ad1b9e339… natively and 31d60fec7f14… with ``OPENBLAS_CORETYPE=Sandybridge``.
    Models see float32 inputs and targets, and a 1-ulp float64 difference changes a float32 value
    with probability ~2^-29, so this fingerprint says "the same data" on every code path.

    Since synthetic card 2.1.0 (generator "spectral-exact", every bit fixed by IEEE 754 operations
    and tested under these code paths) the synthetic table is bit-identical everywhere, so this
    fallback is only needed for entries of pre-2.1 synthetic cards and for plugins' computed tables;
    it stays for them.
    """
    import hashlib

    h = hashlib.sha256()
    h.update("\x1f".join(map(str, frame["input"])).encode())
    for col in frame.columns:
        if col in ("input", "group"):
            continue
        h.update(col.encode())
        h.update(np.ascontiguousarray(frame[col].to_numpy(dtype="<f8").astype("<f4")).tobytes())
    if "group" in frame.columns:
        h.update("\x1f".join(map(str, frame["group"])).encode())
    return h.hexdigest()


def rescore(sub: dict[str, Any], card: Any, data_dir: Any = None) -> list[str]:
    """Problems of ``sub``'s results against its predictions and the task's data ([] when they agree)."""
    from ..sweep import predictions as P
    from ..sweep import protocol as proto

    res, p = sub["results"], sub["protocol"]
    pred = res["predictions"]
    try:
        side = real_side(card, sub["featurizer"]["name"], p["split"], data_dir)
    except S2RBenchError as exc:
        return [f"results.predictions: the task's real data cannot be loaded to rescore them ({exc})"]
    except Exception as exc:  # a featurizer or loader plugin that is not installed or fails
        return [
            f"results.predictions: the task's real data cannot be prepared to rescore them "
            f"({exc.__class__.__name__}: {exc}); install the plugins the submission names"
        ]
    key = sub["data"]["real"]
    # Only a table a loader computes may differ in its last bits; a table read from files may not.
    computed = getattr(card, "loader", "tables") != "tables"
    if side.key != key and not (computed and side.key_f32 == sub["data"].get("real_f32")):
        return [
            f"data.real: the run's real-data fingerprint {key[:12]}… is not the task's "
            f"{side.key[:12]}… (featurized with {sub['featurizer']['name']}), not even at float32 precision; "
            "rerun the sweep on the task's current data"
        ]
    # The same data (bit for bit, or at the float32 precision the model saw): the run's key fixes the split.
    out: list[str] = []
    bad: list[str] = []
    if len(pred["scratch"]) != len(res["trials"]) or len(pred["sizes"]) != len(res["trials"]):
        return [
            f"results.predictions: {len(pred['sizes'])} trials of predictions for {len(res['trials'])} trials; regenerate with `s2rbench submit`"
        ]
    for i, t in enumerate(res["trials"]):
        split = proto.real_split(len(side.y), key, int(p["seed"]), int(t), float(p["test_fraction"]), side.groups)
        want_seed = proto.trial_seed(key, int(p["seed"]), int(t))
        if int(res["seeds"][i]) != want_seed:
            out.append(
                f"results.seeds[{i}]: {res['seeds'][i]} is not the seed the protocol gives trial {t} ({want_seed})"
            )
        y = side.y[split.test].astype(np.float64)
        cells = [("scratch_mae", f"[{i}]", pred["scratch"][i], res["scratch_mae"][i])]
        if len(pred["sizes"][i]) != len(res["sizes"]):
            out.append(f"results.predictions.sizes[{i}]: {len(pred['sizes'][i])} cells for {len(res['sizes'])} sizes")
            continue
        cells += [("mae", f"[{i}][{j}]", pred["sizes"][i][j], res["mae"][i][j]) for j in range(len(res["sizes"]))]
        for field, where, text, stated in cells:
            try:
                v = P.decode(text, max_rows=len(y))
            except ValueError as exc:
                bad.append(f"results.predictions ({field}{where}): unreadable ({exc})")
                continue
            if v.size != y.size:
                bad.append(
                    f"results.predictions ({field}{where}): {v.size} predictions for the {y.size} test rows of trial {t}"
                )
                continue
            mae = float(np.mean(np.abs(v - y)))
            tol = RESCORE_RTOL * float(np.mean(np.abs(v))) + 1e-12
            if abs(mae - float(stated)) > tol:
                bad.append(
                    f"results.{field}{where}: stated {stated:.6g} but its predictions score {mae:.6g} on trial {t}'s test rows "
                    f"(allowed difference {tol:.2g})"
                )
    if bad:
        more = f" (and {len(bad) - MAX_LISTED} more cells)" if len(bad) > MAX_LISTED else ""
        out += [
            b
            + (
                "; the results must be the predictions' scores — regenerate the file with `s2rbench submit`"
                if k == 0
                else ""
            )
            for k, b in enumerate(bad[:MAX_LISTED])
        ]
        if more:
            out[-1] += more
    return out
