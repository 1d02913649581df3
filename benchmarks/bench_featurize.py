"""Featurization wall time: ``magpie`` on 10^5 compositions, the polymer featurizers on PI1070.

(a) The first 100,000 formulas of ``bandgap/mp_gap.csv`` with the ``magpie`` featurizer (parse each
    distinct formula with pymatgen, vectorised statistics), split into canonicalize and featurize
    times, against matminer's ``ElementProperty.from_preset("magpie").featurize_many`` on a
    subsample (default 2,000 rows, single process, extrapolated per row to the full table), with the
    largest deviation between the two on that subsample.
(b) The 1,077 repeat units of ``radonpy-pi1070/PI1070.csv`` (column ``smiles``) with
    ``polymer-rdkit`` and ``polymer-chain``.

Data come from ``$S2RBENCH_DATA_DIR`` or the ``../shared/data`` mirror next to the repository.
Times are wall-clock on whatever else the machine is running; the number of CPU cores and the load
average are printed with them.

    python benchmarks/bench_featurize.py [--n 100000 --matminer-n 2000 --skip-polymers]
"""

from __future__ import annotations

import argparse
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from s2rbench.featurizers import InvalidInputsWarning, featurize_with


def data_dir() -> Path:
    raw = os.environ.get("S2RBENCH_DATA_DIR")
    if raw:
        return Path(raw)
    return Path(__file__).resolve().parents[2] / "shared" / "data"


CPU = {"last": 0.0}


def _cpu() -> float:
    t = os.times()  # this process and its reaped worker processes
    return t.user + t.system + t.children_user + t.children_system


def timed(fn, *args):
    """(result, wall seconds); the CPU seconds (all processes) of the call go to CPU["last"]."""
    c, t = _cpu(), time.perf_counter()
    out = fn(*args)
    CPU["last"] = _cpu() - c
    return out, time.perf_counter() - t


def bench_magpie(n: int, matminer_n: int) -> None:
    from s2rbench_plugins.featurizers.composition import Magpie, magpie_table

    formulas = pd.read_csv(data_dir() / "bandgap" / "mp_gap.csv", usecols=["formula"], nrows=n)["formula"].tolist()
    print(f"(a) magpie: {len(formulas):,} formulas ({len(set(formulas)):,} distinct strings)")
    _, t_table = timed(magpie_table, True)
    print(f"    element table from matminer MagpieData: {t_table:6.2f} s (once per process; cpu {CPU['last']:.2f} s)")
    feat = Magpie()
    canon, t_canon = timed(feat.canonicalize, formulas)
    cpu_canon = CPU["last"]
    ok = [c for c in canon if c is not None]
    X, t_feat = timed(feat.featurize_canonical, ok)
    print(
        f"    canonicalize (pymatgen parse, dedupe, 2 procs): {t_canon:6.2f} s (cpu {cpu_canon:.2f} s) "
        f"-> {len(set(ok)):,} distinct compositions"
    )
    print(f"    statistics (numpy, vectorised):                 {t_feat:6.2f} s (cpu {CPU['last']:.2f} s) -> {X.shape}")
    total = t_canon + t_feat
    print(f"    total: {total:6.2f} s = {1e6 * total / len(formulas):7.1f} us/row")

    if matminer_n <= 0:
        return
    from matminer.featurizers.composition import ElementProperty
    from pymatgen.core import Composition

    rng = np.random.default_rng(0)
    sub = [formulas[i] for i in rng.choice(len(formulas), size=min(matminer_n, len(formulas)), replace=False)]
    ep = ElementProperty.from_preset("magpie")
    ep.set_n_jobs(1)
    comps, t_parse = timed(lambda: [Composition(f) for f in sub])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref, t_mm = timed(lambda: np.asarray(ep.featurize_many(comps, pbar=False), dtype=np.float64))
    per_row = (t_parse + t_mm) / len(sub)
    print(
        f"    matminer featurize_many on {len(sub):,} rows: {t_parse + t_mm:6.2f} s (cpu {CPU['last']:.2f} s "
        f"featurize only) = {1e6 * per_row:7.1f} us/row "
        f"-> {per_row * len(formulas):7.1f} s extrapolated to {len(formulas):,} "
        f"({per_row * len(formulas) / total:5.1f}x slower)"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", InvalidInputsWarning)
        ours = featurize_with(feat, sub).X
    both = np.isfinite(ref) & np.isfinite(ours)
    diff = np.abs(ours - ref)[both]
    rel = diff / np.maximum(np.abs(ref[both]), 1e-8)
    print(
        f"    agreement on the subsample: max |diff| {diff.max():.2e}, max rel {rel.max():.2e}, "
        f"allclose(rtol=1e-6, atol=1e-8): {np.allclose(ours, ref, rtol=1e-6, atol=1e-8, equal_nan=True)}"
    )


def bench_polymers() -> None:
    from s2rbench_plugins.featurizers.polymer import PolymerChain, PolymerRDKit

    smiles = pd.read_csv(data_dir() / "radonpy-pi1070" / "PI1070.csv", usecols=["smiles"])["smiles"].tolist()
    print(f"(b) PI1070: {len(smiles):,} repeat units")
    for feat in (PolymerRDKit(), PolymerChain()):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", InvalidInputsWarning)
            fm, t = timed(featurize_with, feat, smiles)
        bad = [str(w.message) for w in caught if issubclass(w.category, InvalidInputsWarning)]
        print(
            f"    {feat.name:14s} {t:6.2f} s (cpu {CPU['last']:.2f} s) = {1e3 * t / len(smiles):5.2f} ms/row "
            f"-> {fm.X.shape}, "
            f"invalid {len(fm.invalid)} {bad[0] if bad else ''}"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000, help="formulas from mp_gap.csv")
    ap.add_argument("--matminer-n", type=int, default=2000, help="subsample for matminer (0: skip)")
    ap.add_argument("--skip-polymers", action="store_true")
    ap.add_argument("--skip-magpie", action="store_true")
    args = ap.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"cores: {os.cpu_count()}, load average (1 min): {load:.2f}")
    if not args.skip_magpie:
        bench_magpie(args.n, args.matminer_n)
    if not args.skip_polymers:
        bench_polymers()


if __name__ == "__main__":
    main()
