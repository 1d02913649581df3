"""The Ray executor's overhead per unit against the local executor, on a real sweep (issue 20).

``bench_scale.py`` prices Ray on the synthetic task, whose units carry a few kilobytes. The quick
``bandgap`` sweep is the case that matters for scale-out: every unit needs the prepared task (about
1.2·10⁵ simulated and 4.6·10³ real rows of 132 float32 features, plus the split indices), which the
local executor hands over by reference and Ray must put into its object store and deserialize in
a worker process. This benchmark runs the *same* sweep, in one process and one after another:

1. local executor (one thread per unit, the default);
2. Ray with ``--workers 1`` on a private local cluster, cold (the first sweep after ``ray.init``:
   worker processes start and import s2rbench);
3. the same Ray session again, warm (fresh run directory, so every unit is recomputed), alternated
   with local sweeps ``--repeats`` times, so that the machine's drifting load reaches both alike;

each in a fresh run directory, and prints the wall time of each, the Ray start-up apart, and the
overhead per unit ``(wall_ray - wall_local) / units`` with one worker (so both compute the same
units serially, and the difference is Ray's: object-store puts, scheduling, (de)serializing the
prepared task and the rows). It checks that every executor stored the same test MAEs, bit for bit
(they compute with the same thread count: `s2rbench.sweep.executors.unit_threads`).

The model is ``ridge`` by default: its units take well under a second, so the overhead is not
hidden in compute; any model can be given with ``--model``.

    python benchmarks/bench_executors.py                 # ridge, quick bandgap (a few minutes)
    python benchmarks/bench_executors.py --model gbdt-stack --task chi

Needs ``S2RBENCH_DATA_DIR`` (or the cache) for the task's data and ``pip install 's2rbench[ray]'``.
The results are in docs/scale-out.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from tabulate import tabulate

from s2rbench import sweep
from s2rbench.sweep.executors import make_executor


class _Counting:
    """Wraps an executor and counts the units it returns (the sweep's unit list is internal)."""

    def __init__(self, inner: Any) -> None:
        self.inner, self.units = inner, 0

    def map(self, *args: Any, **kwargs: Any):
        for unit, rows in self.inner.map(*args, **kwargs):
            self.units += 1
            yield unit, rows

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


def _sweep(task: str, model: str, executor: Any, out: Path, quick: bool) -> tuple[float, int, Any]:
    counted = _Counting(executor)
    t0 = time.perf_counter()
    res = sweep.run(task, model, quick=quick, out=out, progress=False, executor=counted)
    wall = time.perf_counter() - t0
    maes = res.results.sort_values(["n", "m", "trial"])["mae"].to_numpy()
    return wall, counted.units, maes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", default="bandgap")
    ap.add_argument("--model", default="ridge")
    ap.add_argument("--full", action="store_true", help="the card's full protocol instead of the quick one")
    ap.add_argument("--repeats", type=int, default=3, help="paired warm-Ray / local sweeps (default 3)")
    a = ap.parse_args()
    quick = not a.full
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-executors-") as tmp:
        root = Path(tmp)
        # prepare once outside the timings: the feature cache is then warm for every executor
        sweep.run(a.task, a.model, quick=quick, out=root / "warmup", progress=False)

        wall_l, units, ref = _sweep(a.task, a.model, make_executor("local"), root / "local0", quick)
        locals_, warms, maes = [wall_l], [], []
        rows.append({"executor": "local (1 thread)", "Ray start s": "–", "wall s": wall_l, "units": units})

        ray_ex = make_executor("ray", workers=1)
        t0 = time.perf_counter()
        ray_ex.connect()
        start = time.perf_counter() - t0
        try:
            wall_cold, u_cold, m_cold = _sweep(a.task, a.model, ray_ex, root / "ray-cold", quick)
            maes.append(m_cold)
            rows.append({"executor": "Ray, 1 worker, cold", "Ray start s": start, "wall s": wall_cold, "units": u_cold})
            # alternate warm Ray and local sweeps, so that the machine's load drifts over both alike
            for i in range(a.repeats):
                w, _, mm = _sweep(a.task, a.model, ray_ex, root / f"ray-warm{i}", quick)
                warms.append(w)
                maes.append(mm)
                rows.append(
                    {"executor": f"Ray, 1 worker, warm ({i + 1})", "Ray start s": "–", "wall s": w, "units": units}
                )
                w, _, mm = _sweep(a.task, a.model, make_executor("local"), root / f"local{i + 1}", quick)
                locals_.append(w)
                maes.append(mm)
                rows.append({"executor": f"local ({i + 1})", "Ray start s": "–", "wall s": w, "units": units})
        finally:
            ray_ex.close()

    same = all(len(x) == len(ref) and (x == ref).all() for x in maes)
    local = statistics.median(locals_)
    per_cold = (wall_cold - local) / units
    # paired: each warm Ray sweep against the local sweep that followed it
    diffs = [(w - lo) / units for w, lo in zip(warms, locals_[1:], strict=True)]
    per_warm = statistics.median(diffs)
    for r in rows:
        r["wall s"] = f"{r['wall s']:.2f}"
        if not isinstance(r["Ray start s"], str):
            r["Ray start s"] = f"{r['Ray start s']:.1f}"
    print(
        f"{a.task} {'quick' if quick else 'full'} sweep, model {a.model}, {units} units, load average {os.getloadavg()}"
    )
    print(tabulate(rows, headers="keys", tablefmt="github"))
    print(
        f"\nRay overhead per unit, 1 worker: cold {per_cold * 1e3:+.0f} ms, warm {per_warm * 1e3:+.0f} ms "
        f"(local {local / units * 1e3:.0f} ms per unit); test MAEs identical across executors: {same}"
    )
    print(
        json.dumps(
            {
                "task": a.task,
                "model": a.model,
                "units": units,
                "local_s": locals_,
                "ray_start_s": start,
                "ray_cold_s": wall_cold,
                "ray_warm_s": warms,
                "overhead_per_unit_cold_s": per_cold,
                "overhead_per_unit_warm_s": per_warm,
                "identical": same,
                "load": os.getloadavg(),
            }
        )
    )
    if not same:
        raise SystemExit("Error: the executors stored different test MAEs")


if __name__ == "__main__":
    main()
