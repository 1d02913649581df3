"""Effect of the mlp's ``precision`` flag (fp32 default, tf32, bf16) on test MAE and on time.

Uses the synthetic Sim2Real problem of bench_ensemble.py: for each n, one block of T trials is
trained at each precision with the same seeds, so the MAE differences come from the arithmetic
alone. Prints, per device and n, the mean test MAE at each precision, its relative change against
fp32, and the wall-time ratio fp32 / other (above 1: the flag is faster), side by side in one run.

    python benchmarks/bench_precision.py [--trials 8 --ns 100,1000,4000 --device all|cpu|cuda]
"""

from __future__ import annotations

import argparse
import time

import torch
from bench_ensemble import make_blocks, make_problem, test_mae
from tabulate import tabulate

from s2rbench_plugins.models.mlp import MLP

PRECISIONS = ("fp32", "tf32", "bf16")


def run(device: str, a: argparse.Namespace) -> None:
    X_sim, y_sim, X_real, y_real = make_problem(a.d, a.pool, a.real, a.seed)
    ns = [int(x) for x in a.ns.split(",")]
    blocks, test_idx = make_blocks(X_sim, y_sim, X_real, y_real, ns, a.trials, a.seed, device)
    name = (
        torch.cuda.get_device_name(torch.device(device))
        if device.startswith("cuda")
        else f"CPU, {torch.get_num_threads()} thread(s)"
    )
    rows = []
    for n in ns:
        block = blocks[n]
        mae, secs = {}, {}
        for p in PRECISIONS:
            t0 = time.perf_counter()
            pred = MLP(precision=p).fit_predict(block)
            if device.startswith("cuda"):
                torch.cuda.synchronize()
            secs[p] = time.perf_counter() - t0
            mae[p] = test_mae(pred, y_real, test_idx)
        rows.append(
            [
                n,
                *(f"{mae[p]:.4f}" for p in PRECISIONS),
                *(f"{100 * (mae[p] / mae['fp32'] - 1):+.1f}%" for p in PRECISIONS[1:]),
                *(f"{secs['fp32'] / secs[p]:.2f}" for p in PRECISIONS[1:]),
            ]
        )
    print(f"\n{device} ({name}), T={a.trials}, d={a.d}")
    print(
        tabulate(
            rows,
            headers=["n", "MAE fp32", "MAE tf32", "MAE bf16", "ΔMAE tf32", "ΔMAE bf16", "speed tf32", "speed bf16"],
            tablefmt="github",
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--trials", type=int, default=8)
    ap.add_argument("--ns", default="100,1000,4000")
    ap.add_argument("--pool", type=int, default=4000)
    ap.add_argument("--real", type=int, default=200)
    ap.add_argument("--d", type=int, default=32)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--device", choices=["all", "cpu", "cuda"], default="all")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.device in ("all", "cpu"):
        run("cpu", a)
    if a.device in ("all", "cuda"):
        if torch.cuda.is_available():
            run("cuda", a)
        else:
            print("\ncuda: not available on this machine")


if __name__ == "__main__":
    main()
