"""A submission's in-pool / out-of-pool split (issue 17, part 4): stated by `s2rbench submit`,
re-derived and compared by `s2rbench leaderboard check`.

A test row is *in pool* when its canonical input is among the inputs of the n simulated rows the
trial pretrained on (`s2rbench.overlap`). `build_submission` states, as ``overlap_summary``, what
`s2rbench fit --json` reports: `s2rbench.overlap.overlap_summary` of the run's stored rows, with the
leaderboard's fixed bootstrap (`FIT_BOOT` resamples, seed `FIT_SEED`). The field is optional: runs
stored before the per-trial columns existed, and entries made before this field, have none.

Nothing stated is trusted. The check re-derives the split from what the entry carries and the
task's data, with the sweep's own functions:

1. the task is prepared by `s2rbench.sweep.prepare` (both sides: the simulated side's canonical
   inputs decide membership; features come from the on-disk feature cache when it is warm), with
   the entry's featurizer, split and ``exclude_overlap``; its simulated fingerprint must be the
   run's ``data.sim`` (for a table a loader computes, whose last float64 bits may differ on another
   BLAS kernel, the row count must agree and the run's fingerprint fixes the order, as the real
   fingerprint fixes the split in `s2rbench.leaderboard.rescore`);
2. per trial, the test rows and the pretraining order come from `s2rbench.sweep.protocol` and the
   named sampler (`s2rbench.sweep.units.sim_order_for`, the order the run used: the first n rows
   are the pretraining set of size n);
3. per (n, trial), `s2rbench.overlap.pool_columns` of the carried predictions gives the in-pool /
   out-of-pool MAEs and counts, and `overlap_summary` of those rows the numbers to compare.

Tolerances are those of a MAE (`s2rbench.leaderboard.fitcheck.tolerance`), widened by the float32
rounding of the carried predictions: `RESCORE_RTOL` (the rescoring's allowance, ~16 times the 2^-24
a float32 rounding moves a value) of the largest |prediction|, which bounds the change of every
absolute error and hence of a mean over any subset of rows; a gain 1 − a/b by that change over the
scratch MAE b times (1 + a/b), the first-order bound of a ratio. Counts must agree exactly. So a
stated split is a property of the data, not of the CPU's SIMD path.

What cannot be verified: a sampler plugin that looks at the features of a *computed* table orders
the pool from features whose last bits may differ on another CPU; such an entry's split is then
refused rather than passed (none of the built-in tasks' entries is one: their tables are read from
files, or ordered by the random sampler).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

import numpy as np
import pandas as pd

from ..errors import S2RBenchError
from .rescore import RESCORE_RTOL

#: Fields of one ``overlap_summary.by_n`` entry, by how they are compared.
COUNT_FIELDS = ("n", "trials", "n_test", "n_test_in_pool", "n_test_out_pool", "share_in_pool")
MAE_FIELDS = ("mae_in_pool", "mae_out_pool", "scratch_in_pool", "scratch_out_pool")
GAIN_FIELDS = ("gain_in_pool", "gain_out_pool")
COUNT_ATOL = 1e-9
MAX_LISTED = 3
REGENERATE = (
    "the stated split must be the one recomputed from the predictions — regenerate the file with `s2rbench submit`"
)

_PREP: dict[tuple, Any] = {}


def stated_overlap(rows: pd.DataFrame, m: int, n_boot: int, seed: int, ci: float) -> dict[str, Any] | None:
    """The ``overlap_summary`` section for a run's rows (`s2rbench.overlap.overlap_summary`, as `fit`
    reports it), or None when the rows carry no in-pool / out-of-pool columns."""
    from ..laws.jsonable import jsonable
    from ..overlap import overlap_summary

    if rows is None or rows.empty or "n_test_in_pool" not in rows or rows["n_test_in_pool"].isna().all():
        return None
    s = overlap_summary(rows, m=int(m), n_boot=n_boot, seed=seed)
    if not s.get("available"):
        return None
    return jsonable({"m": s["m"], "n_boot": n_boot, "seed": seed, "ci": ci, "by_n": s["by_n"]})


def _prepared(card: Any, featurizer: str, split: str, exclude_overlap: bool, data_dir: Any) -> Any:
    key = (card.hash, featurizer, split, bool(exclude_overlap), str(data_dir))
    if key not in _PREP:
        from ..contracts.featurizer import InvalidInputsWarning
        from ..sweep.prepare import prepare

        if len(_PREP) >= 2:  # a prepared task holds its feature matrices: keep few
            _PREP.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", InvalidInputsWarning)
            _PREP[key] = prepare(card, featurizer, data_dir=data_dir, exclude_overlap=exclude_overlap, split=split)
    return _PREP[key]


def pool_rows(sub: dict[str, Any], card: Any, data_dir: Any = None) -> tuple[pd.DataFrame, float]:
    """Store-like rows (n, m, trial, n_test and `s2rbench.overlap.POOL_COLUMNS`) re-derived from the
    entry's predictions and the task's data, and the largest |prediction| (the scale of the
    predictions' float32 rounding). Raises `S2RBenchError` when the split cannot be re-derived."""
    from ..overlap import pool_columns
    from ..plugins import get_sampler
    from ..sweep import predictions as P
    from ..sweep import protocol as proto
    from ..sweep.units import sim_order_for

    res, p, data = sub["results"], sub["protocol"], sub["data"]
    prep = _prepared(card, sub["featurizer"]["name"], p["split"], bool(p.get("exclude_overlap")), data_dir)
    computed = getattr(card, "loader", "tables") != "tables"
    if prep.sim_key != data.get("sim") and not (computed and len(prep.y_sim) == data.get("sim_rows")):
        raise S2RBenchError(
            f"data.sim: the run's simulated-data fingerprint {str(data.get('sim'))[:12]}… is not the task's "
            f"{prep.sim_key[:12]}…; the pretraining sets cannot be re-derived — rerun the sweep on the task's current data"
        )
    # the run's fingerprints fix the order and the split (the real side was verified by the rescoring)
    prep = dataclasses.replace(prep, sim_key=data["sim"], real_key=data["real"])
    want = sub.get("sampler") or {"name": "random", "version": "1"}
    sampler = get_sampler(want["name"])
    if str(sampler.version) != str(want["version"]):
        raise S2RBenchError(
            f"sampler {want['name']!r} is version {sampler.version} here, the run used {want['version']}; "
            "the pretraining sets cannot be re-derived — install the sampler version the submission names"
        )
    m, sizes, seed = int(res["m"]), [int(n) for n in res["sizes"]], int(p["seed"])
    n_max = max(sizes)
    pred = res["predictions"]
    rows: list[dict[str, Any]] = []
    scale = 0.0
    for i, t in enumerate(res["trials"]):
        split = proto.real_split(len(prep.y_real), data["real"], seed, int(t), float(p["test_fraction"]), prep.groups)
        order = sim_order_for(prep, sampler, seed, int(t), split.train(m), n_max)
        y = prep.y_real[split.test]
        cells = [(0, pred["scratch"][i]), *zip(sizes, pred["sizes"][i])]
        for n, text in cells:
            v = P.decode(text, max_rows=len(y))
            if v.size != y.size:
                raise S2RBenchError(f"{v.size} predictions for the {y.size} test rows of trial {t}")
            scale = max(scale, float(np.max(np.abs(v), initial=0.0)))
            sim_rows = order[:n] if n else np.zeros(0, np.int64)
            cols = pool_columns(prep, sim_rows, split.test, v - y, order if n == 0 else None)
            rows.append({"n": n, "m": m, "trial": int(t), "n_test": len(split.test), **cols})
    return pd.DataFrame(rows), scale


def _fmt(v: Any) -> str:
    return "null" if v is None else f"{v:.6g}"


def compare_overlap(
    stated: dict[str, Any], actual: dict[str, Any] | None, mae_scale: float, pred_scale: float
) -> list[str]:
    """Problems of a stated ``overlap_summary`` against the recomputed one ([] when they agree)."""
    from .fitcheck import tolerance

    if actual is None:
        return [
            "overlap_summary: stated, but the predictions and the task's data give no in-pool / out-of-pool split; "
            + REGENERATE
        ]
    out: list[str] = []
    if stated.get("m") != actual["m"]:
        out.append(f"overlap_summary.m: stated {stated.get('m')} but the split is at m = {actual['m']}")
    s_n = [e.get("n") for e in stated["by_n"]]
    a_n = [e["n"] for e in actual["by_n"]]
    if s_n != a_n:
        return [*out, f"overlap_summary.by_n: sizes {s_n} but the predictions give {a_n}; {REGENERATE}"]
    float_err = RESCORE_RTOL * pred_scale

    def cmp(where: str, s: Any, a: Any, tol: float) -> None:
        if s is None or a is None:
            if not (s is None and a is None):
                out.append(f"{where}: stated {_fmt(s)} but the predictions give {_fmt(a)}")
            return
        if not (math.isfinite(float(s)) and abs(float(s) - float(a)) <= tol):
            out.append(f"{where}: stated {_fmt(s)} but the predictions give {_fmt(a)} (allowed difference {tol:.2g})")

    for k, (se, ae) in enumerate(zip(stated["by_n"], actual["by_n"])):
        at = f"overlap_summary.by_n[{k}]"
        for f in COUNT_FIELDS:
            cmp(f"{at}.{f}", se.get(f), ae[f], COUNT_ATOL)
        for f in MAE_FIELDS + GAIN_FIELDS:
            gain = f in GAIN_FIELDS
            side = f.split("_", 1)[1]
            ref = ae.get(f"scratch_{side}") or 0.0
            kind = "unitless" if gain else "mae"

            def extra(value: Any, gain: bool = gain, ref: float = ref) -> float:
                if not gain:
                    return float_err
                if ref <= 0:
                    return math.inf  # a gain over a zero scratch MAE: nothing to compare
                return float_err / ref * (1.0 + abs(1.0 - float(value or 0.0)))

            cmp(f"{at}.{f}", se.get(f), ae[f], tolerance(kind, float(ae[f] or 0), mae_scale) + extra(ae[f]))
            if f"{f}_ci" in ae:
                s_ci, a_ci = se.get(f"{f}_ci"), ae[f"{f}_ci"]
                if (s_ci is None) != (a_ci is None):
                    out.append(f"{at}.{f}_ci: stated {s_ci} but the predictions give {a_ci}")
                elif a_ci is not None:
                    for j in (0, 1):
                        tol = tolerance(kind, float(a_ci[j] or 0), mae_scale, True) + extra(a_ci[j])
                        cmp(f"{at}.{f}_ci[{j}]", s_ci[j], a_ci[j], tol)
    if len(out) > MAX_LISTED:
        out = [*out[:MAX_LISTED], f"overlap_summary: and {len(out) - MAX_LISTED} more differences"]
    if out:
        out[0] += f"; {REGENERATE}"
    return out


def rederived_overlap(
    sub: dict[str, Any], card: Any, data_dir: Any = None, *, n_boot: int, seed: int, ci: float
) -> tuple[dict[str, Any] | None, float]:
    """The ``overlap_summary`` the entry's predictions and the task's data give (see `pool_rows`) with
    the given bootstrap, and the predictions' scale."""
    rows, pred_scale = pool_rows(sub, card, data_dir)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore", RuntimeWarning)
        return stated_overlap(rows, int(sub["results"]["m"]), n_boot, seed, ci), pred_scale


def overlap_problems(
    sub: dict[str, Any], card: Any, data_dir: Any = None, *, n_boot: int, seed: int, ci: float
) -> list[str]:
    """Problems of ``sub``'s stated ``overlap_summary`` (none when it states none) against the split
    re-derived with the leaderboard's bootstrap (``n_boot`` resamples, ``seed``, ``ci``)."""
    stated = sub.get("overlap_summary")
    if stated is None:
        return []
    if sub["results"].get("predictions") is None:
        return [
            "overlap_summary: stated, but the entry carries no predictions to verify it; "
            "regenerate the file from the run directory with `s2rbench submit`"
        ]
    if (stated.get("n_boot"), stated.get("seed"), stated.get("ci")) != (n_boot, seed, ci):
        return [
            f"overlap_summary: a {stated.get('ci')} bootstrap of {stated.get('n_boot')} resamples with seed {stated.get('seed')}, "
            f"the leaderboard's is {ci} of {n_boot} with seed {seed}; {REGENERATE}"
        ]
    try:
        actual, pred_scale = rederived_overlap(sub, card, data_dir, n_boot=n_boot, seed=seed, ci=ci)
    except (S2RBenchError, ValueError) as exc:
        return [f"overlap_summary: the in-pool / out-of-pool split cannot be re-derived to verify it ({exc})"]
    except Exception as exc:  # a featurizer, loader or sampler plugin that is not installed or fails
        return [
            f"overlap_summary: the in-pool / out-of-pool split cannot be re-derived to verify it "
            f"({exc.__class__.__name__}: {exc}); install the plugins the submission names"
        ]
    res = sub["results"]
    means = [float(np.mean(res["scratch_mae"]))] + [float(np.mean(col)) for col in zip(*res["mae"])]
    return compare_overlap(stated, actual, max(means), pred_scale)
