"""How the cost of a unit of work grows with n and with trials, and what Ray workers buy: local vs Ray.

On the synthetic task (d = 8 features, 8192 simulated rows, 300 real rows), with the ``mlp`` model
(default hyperparameters) or ``ridge``:

1. per-unit cost versus n (T trials per unit, m real rows), local executor, one thread per unit;
2. per-unit cost versus the trials per unit T at one n (what the batched ensemble amortizes);
3. throughput of the same list of units run by the local executor and by Ray with --workers
   (units/s and trial-models/s, Ray start-up shown apart);
4. (``--per-step``, mlp only) the cost of one optimizer step of the batched ensemble versus the
   number of features d and trials T, with early stopping off, on random data: with the step
   counts of the protocol this prices a unit of a task with many features (docs/scale-out.md).

Prints three tables, the machine's load average (the timings are wall times: a busy machine
inflates them) and a JSON line with every figure, for docs/scale-out.md.

    python benchmarks/bench_scale.py                      # mlp, the default grid (about 10 min on 2 idle cores)
    python benchmarks/bench_scale.py --model ridge --params random_features=256 --ns 0,1024,8192
    python benchmarks/bench_scale.py --skip-ray           # without Ray installed
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

from tabulate import tabulate

from s2rbench import sweep
from s2rbench.cli import parse_params
from s2rbench.plugins import get_model
from s2rbench.sweep.executors import estimate_unit_bytes, make_executor


def _params(pairs: str) -> dict:
    return parse_params(filter(None, pairs.split(",")))


def _units(model: str, ns: list[int], m: int, trials: int, blocks: int) -> list[sweep.WorkUnit]:
    """`blocks` disjoint blocks of `trials` trials at each n (trial numbers 0, 1, ... as the sweep)."""
    return [
        sweep.WorkUnit("synthetic", model, "vector", n, m, tuple(range(b * trials, (b + 1) * trials)), 0)
        for b in range(blocks)
        for n in ns
    ]


def _timed(executor, units, prep, model, device: str = "cpu") -> tuple[float, dict, float]:
    """Wall time of the whole map, each unit's own wall time (inside its process), and this
    process's CPU time (the cost on a dedicated core, whatever else loads the machine)."""
    t0, c0 = time.perf_counter(), time.process_time()
    per_unit = {}
    for unit, rows in executor.map(units, prep, model, device):
        per_unit[unit] = sum(r["seconds"] for r in rows)
    return time.perf_counter() - t0, per_unit, time.process_time() - c0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default="mlp")
    ap.add_argument("--params", default="", help="model hyperparameters, name=value,...")
    ap.add_argument("--ns", default="0,128,1024,8192", help="pretraining sizes for table 1")
    ap.add_argument("--m", type=int, default=240, help="real fine-tuning rows")
    ap.add_argument("--trials", type=int, default=4, help="trials per unit in tables 1 and 3")
    ap.add_argument("--trial-list", default="1,4,16", help="trials per unit for table 2")
    ap.add_argument("--trial-n", type=int, default=1024, help="n of table 2")
    ap.add_argument("--throughput-ns", default="0,128,1024", help="n of the units of table 3")
    ap.add_argument("--blocks", type=int, default=2, help="blocks per n in table 3")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-ray", action="store_true")
    ap.add_argument(
        "--device", default="cpu", help="cpu or cuda (tables 1, 2 and 4; table 3 with Ray uses --gpus-per-unit)"
    )
    ap.add_argument("--gpus-per-unit", type=float, default=0.0, help="Ray tasks' GPUs in table 3 (with --device cuda)")
    ap.add_argument("--per-step", default="", help="only table 4: comma-separated d values, e.g. 8,132,1100,2186")
    a = ap.parse_args()
    if a.per_step:
        return per_step(
            [int(v) for v in a.per_step.split(",")],
            [int(v) for v in a.trial_list.split(",")],
            _params(a.params),
            device=a.device,
        )

    prep = sweep.prepare("synthetic")
    model = get_model(a.model).with_params(**_params(a.params))
    local = make_executor("local")  # one compute thread per unit: the numbers Ray gives, bit for bit
    ns = [int(v) for v in a.ns.split(",")]
    load0 = os.getloadavg()
    print(
        f"# {a.model} {model.hyperparameters if a.params else '(defaults)'} on synthetic "
        f"(d={prep.X_sim.shape[1]}, sim {len(prep.y_sim)}, real {len(prep.y_real)}), m={a.m}; "
        f"{os.cpu_count()} CPUs ({platform.processor() or platform.machine()}), load average {load0[0]:.1f}"
    )

    # 1. cost versus n
    t1 = []
    for n in ns:
        (u,) = _units(a.model, [n], a.m, a.trials, 1)
        wall, _, cpu = _timed(local, [u], prep, model, a.device)
        t1.append(
            {
                "n": n,
                "trials": a.trials,
                "unit_s": round(wall, 2),
                "unit_cpu_s": round(cpu, 2),
                "per_trial_cpu_s": round(cpu / a.trials, 2),
                "est_MiB": round(estimate_unit_bytes(u, prep, model) / 2**20),
            }
        )
        print(f"  n={n}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    print(
        "\n1. one unit versus n (local, 1 thread; CPU s = the cost on a dedicated core)\n"
        + tabulate(t1, headers="keys")
    )

    # 2. cost versus trials per unit
    t2 = []
    for T in [int(v) for v in a.trial_list.split(",")]:
        (u,) = _units(a.model, [a.trial_n], a.m, T, 1)
        wall, _, cpu = _timed(local, [u], prep, model, a.device)
        t2.append(
            {
                "n": a.trial_n,
                "trials": T,
                "unit_s": round(wall, 2),
                "unit_cpu_s": round(cpu, 2),
                "per_trial_cpu_s": round(cpu / T, 2),
                "est_MiB": round(estimate_unit_bytes(u, prep, model) / 2**20),
            }
        )
        print(f"  T={T}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    print(f"\n2. one unit versus trials per unit (n={a.trial_n}, local, 1 thread)\n" + tabulate(t2, headers="keys"))

    # 3. throughput: local versus Ray
    units = _units(a.model, [int(v) for v in a.throughput_ns.split(",")], a.m, a.trials, a.blocks)
    n_models = sum(len(u.trials) for u in units)
    t3 = []
    wall, per, _ = _timed(local, units, prep, model, a.device)
    t3.append(
        {
            "executor": "local",
            "workers": 1,
            "start_s": 0.0,
            "wall_s": round(wall, 2),
            "units/s": round(len(units) / wall, 3),
            "trial-models/s": round(n_models / wall, 2),
            "sum_unit_s": round(sum(per.values()), 1),
        }
    )
    print(f"  local: {wall:.2f} s", flush=True)
    if not a.skip_ray:
        t0 = time.perf_counter()
        ray_ex = make_executor("ray", workers=a.workers, gpus_per_unit=a.gpus_per_unit)
        ray_ex.connect()
        start = time.perf_counter() - t0
        try:
            for label in ("cold", "warm"):  # cold: worker processes start and import; warm: they are up
                wall, per, _ = _timed(ray_ex, units, prep, model, a.device)
                t3.append(
                    {
                        "executor": f"ray ({label})",
                        "workers": a.workers,
                        "start_s": round(start, 1) if label == "cold" else 0.0,
                        "wall_s": round(wall, 2),
                        "units/s": round(len(units) / wall, 3),
                        "trial-models/s": round(n_models / wall, 2),
                        "sum_unit_s": round(sum(per.values()), 1),
                    }
                )
                print(f"  ray {label}: {wall:.2f} s", flush=True)
        finally:
            ray_ex.close()
    print(
        f"\n3. {len(units)} units ({n_models} trial-models, n in {a.throughput_ns}, {a.trials} trials each): local vs Ray\n"
        + tabulate(t3, headers="keys")
    )
    load1 = os.getloadavg()
    print(f"\nload average before {load0[0]:.1f}, after {load1[0]:.1f} (on {os.cpu_count()} CPUs)")
    print(
        "JSON "
        + json.dumps(
            {
                "model": a.model,
                "params": _params(a.params),
                "cpus": os.cpu_count(),
                "load": [load0[0], load1[0]],
                "versus_n": t1,
                "versus_trials": t2,
                "throughput": t3,
            }
        )
    )


def per_step(
    ds: list[int],
    trial_list: list[int],
    params: dict,
    n: int = 1024,
    m: int = 240,
    epochs: int = 4,
    device: str = "cpu",
) -> None:
    """Seconds per optimizer step of the mlp ensemble (pretraining + fine-tuning, validation included)."""
    import math

    import numpy as np

    from s2rbench.models import TrainingBlock
    from s2rbench.sweep.executors import unit_threads

    rows = []
    warm = True  # the first fit of a process pays torch's one-time set-up: run one untimed
    for d in ds:
        rng = np.random.default_rng(d)
        X_sim = rng.normal(size=(max(n, 2048), d)).astype(np.float32)
        y_sim = X_sim[:, :4].sum(1).astype(np.float32)
        X_real = rng.normal(size=(300, d)).astype(np.float32)
        y_real = X_real[:, :4].sum(1).astype(np.float32)
        model = get_model("mlp").with_params(
            **{
                **params,
                "pretrain_epochs": epochs,
                "finetune_epochs": epochs,
                "pretrain_patience": epochs + 1,
                "finetune_patience": epochs + 1,
            }
        )
        p = model.hyperparameters
        steps = lambda rows_, p=p: max(
            math.ceil((rows_ - round(p["val_fraction"] * rows_)) / p["batch_size"]), p["min_steps_per_epoch"]
        )
        n_steps = epochs * (steps(n) + steps(m))
        for T in trial_list:
            block = TrainingBlock(
                X_sim=X_sim,
                y_sim=y_sim,
                sim_idx=np.stack([rng.permutation(len(X_sim))[:n] for _ in range(T)]),
                X_real=X_real,
                train_idx=np.stack([rng.permutation(300)[:m] for _ in range(T)]),
                train_mask=np.ones((T, m), bool),
                y_train=np.stack([y_real[:m]] * T),
                seeds=np.arange(T, dtype=np.int64),
                device=device,
            )
            with unit_threads(1):
                if warm:
                    model.fit_predict(block)
                    warm = False
                t0, c0 = time.perf_counter(), time.process_time()
                model.fit_predict(block)  # returns NumPy arrays: a GPU run is synchronized
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            rows.append(
                {
                    "d": d,
                    "trials": T,
                    "steps": n_steps,
                    "wall_ms_per_step": round(1e3 * wall / n_steps, 2),
                    "cpu_ms_per_step": round(1e3 * cpu / n_steps, 2),
                    "cpu_ms_per_step_per_trial": round(1e3 * cpu / n_steps / T, 3),
                }
            )
            print(f"  d={d} T={T}: {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    print(
        f"\n4. mlp: one optimizer step of the ensemble (n={n}, m={m}, batch {p['batch_size']}, hidden {p['hidden']}; {device}, 1 thread)\n"
        + tabulate(rows, headers="keys")
    )
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print("JSON " + json.dumps({"per_step": rows}))


if __name__ == "__main__":
    main()
