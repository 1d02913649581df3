"""Every transfer strategy on one task, in one process: the runs behind README's strategy table.

Runs the standardized sweep (``--quick`` by default: the card's quick grid and trials, at the card's
default m) for each model, one after another in this process, so that ``mlp``, ``mlp-head``,
``delta`` and ``stack`` share one pretraining per unit (``MLP._pretrain`` is memoised). Each model
gets its own run directory ``OUT/TASK-MODEL-quick`` (resumed if it exists), which ``s2rbench
submit``, ``report`` and ``compare`` read. Prints one line per model: wall time of its run in this
process (a model after ``mlp`` pays no pretraining, so the time is what it adds), its scratch MAE,
the MAE at the largest n, the gain over its own scratch and over ``mlp``'s scratch, and the law.

    python benchmarks/run_strategies.py TASK [--out runs/] [--models mlp,mlp-head,...] [--full] [--by-size]

``--by-size`` (the default with ``--full``) runs the grid one size at a time, every model at that
size before the next size: each run directory grows by ``extend`` (`s2rbench.sweep.run`), so the run
directories end identical in grid and rows to one-call runs, and the memo is needed only for the
units of one size. A run that is stopped (a full bandgap protocol takes hours) is resumed by running
the command again; only the size that was running when it stopped pretrains again for the
strategies after ``mlp``. Without it, a run stopped during ``mlp`` would pretrain every later
strategy from scratch when resumed in a new process.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from tabulate import tabulate

from s2rbench import sweep
from s2rbench.analysis import summarize
from s2rbench.report.format import num, pct, r2, vci
from s2rbench.tasks import get_task

MODELS = ["mlp", "mlp-head", "delta", "stack", "ridge", "gbdt-delta", "gbdt-stack"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("task")
    ap.add_argument("--out", default="runs")
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--full", action="store_true", help="the card's full protocol instead of the quick one")
    ap.add_argument("--m", type=int, default=None)
    ap.add_argument(
        "--by-size",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="one size at a time, every model at it (default: with --full)",
    )
    a = ap.parse_args()
    models = a.models.split(",")
    outs = {model: Path(a.out) / f"{a.task}-{model}-{'full' if a.full else 'quick'}" for model in models}
    walls = dict.fromkeys(models, 0.0)
    by_size = a.full if a.by_size is None else a.by_size
    if by_size:
        p = get_task(a.task).protocol
        grid = list(p.sizes if a.full else p.quick_sizes)
        for k in range(1, len(grid) + 1):
            for model in models:
                t0 = time.perf_counter()
                sweep.run(
                    a.task, model, quick=not a.full, sizes=grid[:k], extend=True, m=a.m, out=outs[model], progress=False
                )
                walls[model] += time.perf_counter() - t0
                print(f"{a.task} {model}: n <= {grid[k - 1]} done, {walls[model]:.0f} s so far", flush=True)
    rows, ref_scratch = [], None
    for model in models:
        out = outs[model]
        t0 = time.perf_counter()
        if not by_size:
            sweep.run(a.task, model, quick=not a.full, m=a.m, out=out, progress=False, fit=False)
        wall = walls[model] + time.perf_counter() - t0
        s = summarize(out)
        if model == "mlp":
            ref_scratch = s.scratch_mae
        f = s.fit
        rows.append(
            {
                "model": model,
                "m": s.m,
                "scratch MAE": num(s.scratch_mae, 4),
                f"MAE at n={s.largest_n}": num(s.mae_at_largest_n, 4),
                "gain": pct(s.gain, signed=True),
                "gain vs mlp scratch": pct(1 - s.mae_at_largest_n / ref_scratch, signed=True) if ref_scratch else "—",
                "α": vci(f.alpha, f.alpha_ci) if f else "—",
                "C": num(f.C) if f else "—",
                "R²": r2(f.r2) if f else "—",
                "wall s": num(round(wall)),
            }
        )
        print(tabulate(rows[-1:], headers="keys", tablefmt="github"), flush=True)
    print()
    print(tabulate(rows, headers="keys", tablefmt="github"))


if __name__ == "__main__":
    main()
