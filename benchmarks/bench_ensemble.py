"""Batched ensemble vs a loop of independent models: wall time and accuracy of the ``mlp`` plugin.

A synthetic Sim2Real problem: d features, a nonlinear ground truth f(x); the simulator returns
y = f(x) + g(x) (a smooth systematic shift), the real world y = f(x) + noise. For each pretraining
size n in the sweep, one TrainingBlock of T trials (each with its own seed, its own 80/20 split of
the real rows and its own nested draw of n simulated rows) is fitted twice: with ``batched=True``
(one ensemble) and with ``batched=False`` (the T trials one after another, same per-trial code).
Prints the wall time of each, the speed ratio and both mean test MAEs (plus the process CPU time of
each, steadier than wall time on a shared machine); repeats on CUDA when present.

    python benchmarks/bench_ensemble.py [--trials 20 --ns 50,200,1000 --pool 4000 --real 200 --d 32]
                                        [--threads 1] [--device all|cpu|cuda] [--set hidden=(64,64)]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import torch

from s2rbench.models import TrainingBlock
from s2rbench_plugins.models.mlp import MLP


def make_problem(d: int, pool: int, real: int, seed: int):
    rng = np.random.default_rng(seed)
    A = rng.normal(size=(d, 4)) / np.sqrt(d)
    w = rng.normal(size=d) / np.sqrt(d)
    c = rng.normal(size=d) / np.sqrt(d)

    def f(X):  # a linear trend plus low-dimensional nonlinear structure
        Z = X @ A
        return X @ w + np.sin(2 * Z[:, 0]) + 0.7 * Z[:, 1] * Z[:, 2] + 0.5 * np.tanh(3 * Z[:, 3])

    def g(X):  # the simulator's systematic error
        return 0.3 * (X @ c) + 0.3

    X_sim = rng.normal(size=(pool, d)).astype(np.float32)
    y_sim = (f(X_sim) + g(X_sim)).astype(np.float32)
    X_real = rng.normal(size=(real, d)).astype(np.float32)
    y_real = (f(X_real) + 0.05 * rng.normal(size=real)).astype(np.float32)
    return X_sim, y_sim, X_real, y_real


def make_blocks(X_sim, y_sim, X_real, y_real, ns, trials, seed, device):
    """One block per n; trial k has the same real split and nested sim rows for every n."""
    rng = np.random.default_rng(seed + 1)
    M = X_real.shape[0]
    m = int(round(0.8 * M))
    perms_real = np.stack([rng.permutation(M) for _ in range(trials)])
    perms_sim = np.stack([rng.permutation(X_sim.shape[0]) for _ in range(trials)])
    train_idx = perms_real[:, :m]
    test_idx = perms_real[:, m:]
    seeds = rng.integers(0, 2**31, size=trials).astype(np.int64)
    blocks = {}
    for n in ns:
        blocks[n] = TrainingBlock(
            X_sim=X_sim, y_sim=y_sim, sim_idx=perms_sim[:, :n].copy(), X_real=X_real,
            train_idx=train_idx, train_mask=np.ones_like(train_idx, dtype=bool),
            y_train=y_real[train_idx], seeds=seeds, device=device,
        )
    return blocks, test_idx


def test_mae(pred, y_real, test_idx):
    return float(np.mean([np.abs(pred[k, test_idx[k]] - y_real[test_idx[k]]).mean() for k in range(len(pred))]))


def run(device: str, args) -> None:
    X_sim, y_sim, X_real, y_real = make_problem(args.d, args.pool, args.real, args.seed)
    blocks, test_idx = make_blocks(X_sim, y_sim, X_real, y_real, args.ns, args.trials, args.seed, device)
    trivial = float(np.mean([np.abs(y_real[test_idx[k]] - y_real[np.setdiff1d(np.arange(args.real), test_idx[k])].mean()).mean()
                             for k in range(args.trials)]))
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
    else:
        name = f"cpu, {torch.get_num_threads()} torch threads, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}"
    print(f"\n== device {device}: {name}; T={args.trials}, d={args.d}, pool={args.pool}, real={args.real} "
          f"(80/20), predict-the-mean test MAE {trivial:.4f}")
    print(f"{'n':>6} {'batched s':>10} {'loop s':>9} {'ratio':>6} {'MAE batched':>12} {'MAE loop':>9} {'max |diff|':>11}"
          f" {'cpu b s':>7} {'cpu l s':>7} {'ratio':>6}")
    tot_b = tot_l = cpu_b = cpu_l = 0.0
    for n in args.ns:
        res = {}
        for batched in (True, False):
            model = MLP(**{**args.params, "batched": batched})
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            t0, c0 = time.perf_counter(), time.process_time()
            pred = model.fit_predict(blocks[n])
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            res[batched] = (time.perf_counter() - t0, time.process_time() - c0, test_mae(pred, y_real, test_idx), pred)
        (tb, cb, mb, pb), (tl, cl, ml, pl) = res[True], res[False]
        tot_b += tb
        tot_l += tl
        cpu_b += cb
        cpu_l += cl
        print(f"{n:>6} {tb:>10.2f} {tl:>9.2f} {tl / tb:>6.2f} {mb:>12.4f} {ml:>9.4f} {np.abs(pb - pl).max():>11.2e}"
              f" {cb:>7.2f} {cl:>7.2f} {cl / cb:>6.2f}")
    print(f"{'total':>6} {tot_b:>10.2f} {tot_l:>9.2f} {tot_l / tot_b:>6.2f} {'':>12} {'':>9} {'':>11}"
          f" {cpu_b:>7.2f} {cpu_l:>7.2f} {cpu_l / cpu_b:>6.2f}")
    if not device.startswith("cuda"):
        print(f"(load avg at the end {os.getloadavg()[0]:.1f}; other processes on the CPU inflate both times)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=20)
    ap.add_argument("--ns", type=lambda s: [int(v) for v in s.split(",")], default=[50, 200, 1000])
    ap.add_argument("--n", type=int, default=None, help="a single pretraining size (overrides --ns)")
    ap.add_argument("--pool", type=int, default=4000)
    ap.add_argument("--real", type=int, default=200)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", choices=["all", "cpu", "cuda"], default="all")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch intra-op CPU threads; 0 = torch's own choice. Default 1: on a shared, "
                         "oversubscribed CPU several threads make both paths many times slower")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="override a model hyperparameter (Python literal), e.g. --set hidden=(64,64)")
    args = ap.parse_args()
    if args.threads > 0:
        torch.set_num_threads(args.threads)
    import ast
    args.params = {k: ast.literal_eval(v) for k, v in (kv.split("=", 1) for kv in args.set)}
    if args.n is not None:
        args.ns = [args.n]
    if args.device in ("all", "cpu"):
        run("cpu", args)
    if args.device in ("all", "cuda"):
        if torch.cuda.is_available():
            run("cuda", args)
        elif args.device == "cuda":
            print("CUDA is not available")


if __name__ == "__main__":
    main()
