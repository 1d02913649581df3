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

Close to the machine (issue 20): ``--bandgap`` prints, in one process run and with one thread, the
measured fp32 matmul peak (a 2048x2048 matmul and the ensemble's own batched products) and the FLOP
rate of the ``mlp``'s training on bandgap unit blocks built as ``run_unit`` builds them (m = 200,
seed 3, d = 132 informative Magpie columns), old and new side by side (``--variant``), plus an
estimate of the full protocol's CPU hours from the measured units of ``trial_block`` trials:

    python benchmarks/bench_ensemble.py --bandgap --units 4x10000,4x30000,25x10000,25x30000 \
        --variant "v3:finetune_lr=3e-4;optimizer='foreach'" [--profile | --profile-only]

FLOPs are counted with torch's FLOP counter (``torch.utils.flop_counter``) on one training step and
one validation pass of each shape, times the replicas x steps and replicas x validation rows the
model recorded (``MLP.trace``): counting inside the run itself would slow it down several times.
Times are process CPU seconds (the machine is shared; the wall clock includes waiting for a core).

One step, without the run around it (``--steps``): gather, standardize, forward, backward and the
fused AdamW of G replicas x batch B at the bandgap shapes, timed in a grid, the matmul peak in the
same run; then the torch profiler's table of 50 steps of one shape (``--steps-profile GxB``):

    python benchmarks/bench_ensemble.py --steps [--steps-profile 25x64] [--compile]

Measured 2026-12-02 on another CPU (an AMD EPYC with AVX-512, 2 cores, idle: load 0.2; ``--bandgap``
with its default units, one run): 2048^2 matmul 97.9 GFLOP/s, the ensemble's batched products 87-90;
the same units do the same work (2,212.6 and 7,910.9 GFLOP at T = 25, n = 10^4 and 3*10^4, against
2,212.6 and 7,910.0 there; test MAEs 0.6747 / 0.6207 against 0.6747 / 0.6206: float32 sums in
another SIMD order move an early-stopping round now and then) at 36-49 GFLOP/s: T = 4 n = 10^4 10.2 CPU s (37% of
peak), 3*10^4 33.7 s (42%); T = 25 n = 10^4 45.4 s (50%), 3*10^4 167.7 s (48%). The full protocol
estimated from the T = 25 units is 1.05 CPU h (2.37 on the machine below). So the fraction of peak
is a property of the CPU as much as of the code: on this core the per-step overhead (Python,
autograd, small elementwise kernels) costs less relative to its gemm, and 48-50% is reached with
no change; 70% is still not. (A run of the whole protocol on this CPU: README, "The full protocol:
time".)

Measured 2026-12-02 on a third CPU (an Intel Xeon with AVX-512 and AMX, 2 cores; AMX does not
serve float32): its fp32 matmul peak is twice the others' (2048^2: 215.8 GFLOP/s with the other
core running a job, 175.4 beside the reproduction of an entry), while the step overhead is not
halved, so the fraction of peak is lower. ``--bandgap --units 8x0,...,8x100000`` (8 trials, the
``mlp`` v5 default, one run; the table is in the ``mlp`` docstring, "Pretraining levers"): 31-35
GFLOP/s at n >= 10^4, 15-16% of peak. ``--steps --compile`` (one run, eager and
``torch.compile`` side by side at each shape, % of that run's 175.4 GFLOP/s): T = 25, batch 64:
3.07 ms a step eager, 78.8 GFLOP/s (45%), compiled 3.14 ms (44%); T = 4, batch 64: 0.77 ms (29%)
against 0.87 ms compiled; at batch 256-512 compiled is 0.95-1.08x eager. Inductor's CPU code fuses
the elementwise work but leaves the batched products to the same gemm, and those are what the step
is made of here (profile, T = 25, batch 64: bmm 28% and baddbmm 19% of self CPU time, fused AdamW
14%, SiLU forward and backward 11%, the other elementwise work 12%, the gather 4%): compiling buys
nothing, costs 4-19 s of compilation per shape (and per replica count, as replicas drop out), and
would move the numbers' last bits. So 70% of peak is out of reach for this network's shapes with
torch's kernels on any of the three CPUs measured; the ways that remain change the model (larger
products: a batch of 512 reaches 54% at T = 4) or replace the kernels (a hand-fused step).

Measured here, 2026-12-01, issue 20 (one thread; the machine's 2 cores shared with two sweeps,
load average 2.8-3.0; these supersede the figures of the loaded machine, load 14-20, that this
docstring held before):

- peak, measured in the same runs: 2048^2 matmul 112.6-112.7 GFLOP/s; the ensemble's own batched
  products (batch 64) 132 -> 128: 91-92 (T = 4 and 25; 68 in the ``--bandgap`` run), 128 -> 64:
  89 (T = 4), 61-73 (T = 25).
- the training of whole units (``--bandgap --units 25x10000,25x30000``, one run): T = 25,
  n = 10^4: 2,212.6 GFLOP in 117.9 CPU s = 18.8 GFLOP/s (17% of the 2048^2 peak), test MAE 0.6747;
  T = 25, n = 3*10^4: 7,910.0 GFLOP in 402.5 CPU s = 19.7 GFLOP/s (17%), MAE 0.6206. The full
  protocol estimated from these two units (4 units of 25 trials per n, extrapolated beyond 3*10^4
  with their log-log slope) is 2.37 CPU h, not the 3.6 of README's estimate from the quick runs'
  4-trial units on the loaded machine; n = 10^5 is 1.7 of the 2.37 h. So the full bandgap protocol
  is 2.4x the issue's target of 1 CPU h, and 70% of peak is NOT reached.
- one step (``--steps``; GFLOP/s of forward + backward, % of the 2048^2 peak): T = 25: batch 64
  8.70 ms, 27.8 GFLOP/s (25%); 128: 34.6 (31%); 256: 40.7 (36%); 512: 45.7 (41%). T = 4: batch 64
  2.62 ms, 14.7 GFLOP/s (13%) up to 37.1 (33%) at 512. A whole unit runs below its step rate
  (18.8 vs 27.8) because of the validation passes (n = 10^4: 2.8 M replica-rows forward against
  17.7 M forward and backward, about 5% of the FLOPs), the per-round Python work and the replicas dropped by early stopping (fewer rows per kernel call).

Where a step's time goes (profile, 50 steps, T = 25, batch 64; self CPU time): the batched matmuls
43% (three bmm of the backward pass 24%, two baddbmm of the forward pass 20%: in the step they run
at 35-65 GFLOP/s, below the 64-81 GFLOP/s of the same shapes timed alone); the fused AdamW 14%
(one pass over 25 x 25k parameters and their moments); SiLU forward and backward 11%; the other
elementwise work (standardize: sub, mul, clamp; the output layer's product and sum; the loss) 14%;
copies 3%; the gather of the minibatch rows 3%. At T = 4 (an earlier profile) the step is
overhead-bound: its matmuls are 32 MFLOP, 0.3-0.4 ms at peak, against 2.6 ms a step.

What this means: with eager PyTorch kernels on this CPU the per-replica products (64 x 132 x 128)
are too small for the gemm to reach its large-matrix rate, and a third of each step is elementwise
work and the optimizer, which no matmul speed-up removes. Seventy per cent of peak would need
larger products (a batch of 512 gives 41%, and changes the numbers: a new model version, measured
at equal accuracy first; at T = 4 and n = 3*10^4 a batch of 256 with lr 3e-3 trained the unit in
79 against 115 CPU s, test MAE 0.6088 vs 0.6053 eV over 4 trials: two runs one after the other,
not side by side, so an indication only) and fused elementwise kernels
(torch.compile's CPU backend or a hand-written kernel; not tried: recompilation as replicas drop out
of the stack, and bit-equality across block sizes, would have to be re-established).

Fewer steps instead of faster steps (the other lever, measured once for the next model version;
not adopted, and not in the plugin: the schedule was patched into the optimizer outside the
repository). On the same unit (T = 4, n = 3*10^4, the issue-17 seed, 4 trials; CPU s of the unit,
test MAE), against today's constant lr 1e-3 with 20 rounds of patience (115 s, 0.6053; the best
pretraining round is 70-103 of 123): a cosine decay of the pretraining lr over a fixed budget of
60 rounds from 2e-3 took 63 s (0.55x) for 0.6031; 40 rounds from 3e-3 40 s (0.35x) for 0.6218; 40
rounds from 1e-3 45 s for 0.6399. The validation MAE on simulated rows was as good after 40 rounds
as after 123 (0.320-0.335 standardized), yet the test MAE on real rows moved by up to +0.04 per
trial: transfer is not decided by the simulated validation score, so any budget must be chosen on
the real test error of the full grid, not on pretraining loss. With 60 rounds the full protocol
would be about 2.37 x 0.55 = 1.3 CPU h, still above 1 CPU h; the 4-trial difference (-0.002 eV) is
far inside the trial-to-trial spread (0.02-0.05), so equal accuracy is not yet shown either.
Since then these levers are opt-in hyperparameters of the plugin (``pretrain_schedule``,
``pretrain_lr``, ``pretrain_batch_size``) and were measured at every bandgap n, 8 trials, with
``--variant``: a 60-round budget keeps the accuracy up to 3·10⁴ but loses 0.02-0.03 eV at 10⁵, and
the budgets that keep it save too little for 1 CPU h (table and figures: the ``mlp`` module
docstring, "Pretraining levers").
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
    m = round(0.8 * M)
    perms_real = np.stack([rng.permutation(M) for _ in range(trials)])
    perms_sim = np.stack([rng.permutation(X_sim.shape[0]) for _ in range(trials)])
    train_idx = perms_real[:, :m]
    test_idx = perms_real[:, m:]
    seeds = rng.integers(0, 2**31, size=trials).astype(np.int64)
    blocks = {}
    for n in ns:
        blocks[n] = TrainingBlock(
            X_sim=X_sim,
            y_sim=y_sim,
            sim_idx=perms_sim[:, :n].copy(),
            X_real=X_real,
            train_idx=train_idx,
            train_mask=np.ones_like(train_idx, dtype=bool),
            y_train=y_real[train_idx],
            seeds=seeds,
            device=device,
        )
    return blocks, test_idx


def test_mae(pred, y_real, test_idx):
    return float(np.mean([np.abs(pred[k, test_idx[k]] - y_real[test_idx[k]]).mean() for k in range(len(pred))]))


def run(device: str, args) -> None:
    X_sim, y_sim, X_real, y_real = make_problem(args.d, args.pool, args.real, args.seed)
    blocks, test_idx = make_blocks(X_sim, y_sim, X_real, y_real, args.ns, args.trials, args.seed, device)
    trivial = float(
        np.mean(
            [
                np.abs(y_real[test_idx[k]] - y_real[np.setdiff1d(np.arange(args.real), test_idx[k])].mean()).mean()
                for k in range(args.trials)
            ]
        )
    )
    if device.startswith("cuda"):
        name = torch.cuda.get_device_name(torch.device(device))
    else:
        name = (
            f"cpu, {torch.get_num_threads()} torch threads, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}"
        )
    print(
        f"\n== device {device}: {name}; T={args.trials}, d={args.d}, pool={args.pool}, real={args.real} "
        f"(80/20), predict-the-mean test MAE {trivial:.4f}"
    )
    print(
        f"{'n':>6} {'batched s':>10} {'loop s':>9} {'ratio':>6} {'MAE batched':>12} {'MAE loop':>9} {'max |diff|':>11}"
        f" {'cpu b s':>7} {'cpu l s':>7} {'ratio':>6}"
    )
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
        print(
            f"{n:>6} {tb:>10.2f} {tl:>9.2f} {tl / tb:>6.2f} {mb:>12.4f} {ml:>9.4f} {np.abs(pb - pl).max():>11.2e}"
            f" {cb:>7.2f} {cl:>7.2f} {cl / cb:>6.2f}"
        )
    print(
        f"{'total':>6} {tot_b:>10.2f} {tot_l:>9.2f} {tot_l / tot_b:>6.2f} {'':>12} {'':>9} {'':>11}"
        f" {cpu_b:>7.2f} {cpu_l:>7.2f} {cpu_l / cpu_b:>6.2f}"
    )
    if not device.startswith("cuda"):
        print(f"(load avg at the end {os.getloadavg()[0]:.1f}; other processes on the CPU inflate both times)")


# ---------------------------------------------------------------------------------------------
# FLOP rate of the ensemble's training at the bandgap unit shapes vs the machine's matmul peak
# ---------------------------------------------------------------------------------------------


def _gflops(fn, flops: float, repeat: int = 5) -> float:
    """Best-of-``repeat`` rate of ``fn`` in GFLOP/s of process CPU time (steadier than wall time on
    a shared machine; with one thread the two agree on an idle one)."""
    fn()
    best = float("inf")
    for _ in range(repeat):
        c0 = time.process_time()
        fn()
        best = min(best, time.process_time() - c0)
    return flops / best / 1e9


def matmul_peak(d: int, hidden: tuple[int, ...], batch: int, Ts: tuple[int, ...]) -> dict[str, float]:
    """Measured fp32 rates: a 2048x2048 matmul, and the ensemble's own batched products."""
    torch.manual_seed(0)
    a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
    out = {"mm 2048^2": _gflops(lambda: torch.mm(a, b), 2 * 2048**3)}
    sizes = [d, *hidden]
    for T in Ts:
        for fi, fo in zip(sizes[:-1], sizes[1:]):
            x, W, bias = torch.randn(T, batch, fi), torch.randn(T, fi, fo), torch.randn(T, 1, fo)
            out[f"baddbmm T={T} ({batch},{fi})x({fi},{fo})"] = _gflops(
                lambda x=x, W=W, bias=bias: [torch.baddbmm(bias, x, W) for _ in range(20)], 20 * 2 * T * batch * fi * fo
            )
    return out


def _counted(fn) -> float:
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as fc:
        fn()
    return float(fc.get_total_flops())


def unit_flops(model: MLP, d: int, trace: list) -> float:
    """Matmul FLOPs of a recorded training run, counted by torch's FLOP counter: one training step
    (forward + backward) of 2 replicas at each stage's batch size and one validation forward of 2 x 64
    rows, scaled by the replicas x steps and replicas x validation rows the trace recorded (the
    FLOPs of a step are linear in the replicas, and the output layer is an elementwise product that
    the counter does not count, as it is negligible)."""
    from s2rbench_plugins.models import _network as nw

    act = nw.activation(model.params["activation"])
    P = nw.init_params(np.array([1, 2]), [d, *model.params["hidden"], 1], torch.device("cpu"))
    P = [q.requires_grad_(True) for q in P]
    per_step: dict[int, float] = {}
    for _, _, _, batch, _ in trace:
        if batch not in per_step:
            x = torch.randn(2, batch, d)
            per_step[batch] = _counted(lambda x=x: nw.forward(P, x, act).square().mean(1).sum().backward()) / 2
    with torch.no_grad():
        per_val_row = _counted(lambda: nw.forward(P, torch.randn(2, 64, d), act)) / (2 * 64)
    total = 0.0
    for _, g, steps, batch, v in trace:
        total += g * steps * per_step[batch] + g * v * per_val_row
    return total


def bandgap_blocks(Ts_ns: list[tuple[int, int]], m: int, seed: int):
    """TrainingBlocks of the bandgap task as `run_unit` builds them (trials 0..T-1, random sampler)."""
    from s2rbench import sweep
    from s2rbench.sweep.units import WorkUnit, run_unit

    prep = sweep.prepare("bandgap")
    blocks = {}

    class Capture(MLP):
        def fit_predict(self, block):
            blocks[(block.n_trials, block.n)] = block
            return np.zeros((block.n_trials, block.X_real.shape[0]))

    for T, n in Ts_ns:
        run_unit(WorkUnit("bandgap", "mlp", "magpie", n, m, tuple(range(T)), seed, "random", 100_000), prep, Capture())
    return prep, blocks


def flops_report(args) -> None:
    from s2rbench.models import informative_columns

    torch.set_num_threads(1)
    Ts_ns = (
        [(4, 10_000), (4, 30_000), (25, 10_000), (25, 30_000)]
        if not args.units
        else [tuple(int(v) for v in u.split("x")) for u in args.units.split(",")]
    )
    prep, blocks = bandgap_blocks(Ts_ns, args.m, args.seed)
    d = int(informative_columns(prep.X_sim, prep.X_real).size)
    variants = [("current", {})] * (not args.no_current) + [
        (v.split(":", 1)[0], _literal_params(v.split(":", 1)[1])) for v in args.variant
    ]
    base = MLP(**args.params)
    peak = matmul_peak(
        d, tuple(base.params["hidden"]), int(base.params["batch_size"]), tuple(sorted({T for T, _ in Ts_ns}))
    )
    print(
        f"\n== fp32 matmul peak, 1 thread, {os.cpu_count()} cores, load avg {os.getloadavg()[0]:.1f}; "
        f"bandgap d = {d} informative columns, m = {args.m}"
    )
    for k, v in peak.items():
        print(f"  {k:<40} {v:7.1f} GFLOP/s")
    ref = max(peak.values())
    from s2rbench_plugins.models import mlp as mlp_mod

    pregather = mlp_mod._PREGATHER_FLOATS
    print(
        f"\n{'unit':>12} {'variant':>16} {'GFLOP':>8} {'cpu s':>8} {'GFLOP/s':>8} {'% peak':>7} "
        f"{'MAE (test)':>10} {'repl.-steps':>11} {'val rows':>10}"
    )
    costs: dict[str, dict[tuple[int, int], float]] = {}
    if args.profile_only:
        for name, kw in variants:
            mlp_mod._PREGATHER_FLOATS = 0 if name.startswith("v3") else pregather
            profile_unit(blocks[Ts_ns[0]], {**args.params, **kw}, name)
        return
    for T, n in Ts_ns:
        block = blocks[(T, n)]
        for name, kw in variants:  # side by side in one process: the machine is shared and noisy
            model = MLP(**{**args.params, **kw})
            model.trace = []
            from s2rbench_plugins.models import mlp as mlp_mod

            mlp_mod._PRETRAINED.clear()
            # a variant named "v3..." also turns off the inputs gathered ahead (v3 gathered step by step)
            mlp_mod._PREGATHER_FLOATS = 0 if name.startswith("v3") else pregather
            c0 = time.process_time()
            pred = model.fit_predict(block)
            cpu = time.process_time() - c0
            flops = unit_flops(model, d, model.trace)
            test = [np.setdiff1d(np.arange(len(prep.y_real)), block.train_idx[k]) for k in range(T)]
            mae = float(np.mean([np.abs(pred[k, t] - prep.y_real[t]).mean() for k, t in enumerate(test)]))
            rs = sum(g * s for _, g, s, _, _ in model.trace)
            vr = sum(g * v for _, g, _, _, v in model.trace)
            print(
                f"{f'T={T} n={n}':>12} {name:>16} {flops / 1e9:8.1f} {cpu:8.1f} {flops / cpu / 1e9:8.1f} "
                f"{100 * flops / cpu / 1e9 / ref:6.0f}% {mae:10.4f} {rs:11d} {vr:10d}",
                flush=True,
            )
            costs.setdefault(name, {})[(T, n)] = cpu
    estimate_full(costs, prep.card)
    if args.profile:
        profile_unit(blocks[Ts_ns[0]], args.params, "current")


def estimate_full(costs: dict, card) -> None:
    """CPU hours of the card's full protocol from the measured units of the full block size
    (``trial_block`` trials): log-log interpolation of a unit's CPU time over n, extrapolated with
    the slope of the two largest measured n beyond them (and of the two smallest below), times the
    blocks of the protocol's trials, plus a scratch unit costed as the smallest n."""
    p = card.protocol
    for name, c in costs.items():
        pts = sorted((n, v) for (T, n), v in c.items() if p.trial_block == T)
        if len(pts) < 2:
            continue
        ln, lc = np.log([a for a, _ in pts]), np.log([b for _, b in pts])

        def cost(n: float, ln=ln, lc=lc) -> float:
            x = np.log(n)
            if x <= ln[0]:
                return float(np.exp(lc[0] + (lc[1] - lc[0]) / (ln[1] - ln[0]) * (x - ln[0])))
            if x >= ln[-1]:
                return float(np.exp(lc[-1] + (lc[-1] - lc[-2]) / (ln[-1] - ln[-2]) * (x - ln[-1])))
            return float(np.exp(np.interp(x, ln, lc)))

        blocks = -(-p.trials // p.trial_block)
        total = blocks * (cost(min(p.sizes)) + sum(cost(n) for n in p.sizes))
        print(
            f"  full protocol estimate, {name}: {len(p.sizes)} sizes + scratch x {p.trials} trials "
            f"({blocks} units of {p.trial_block} per n) = {total / 3600:.2f} CPU h "
            f"(measured units at n = {', '.join(str(n) for n, _ in pts)})"
        )


def _literal_params(text: str) -> dict:
    import ast

    return {k: ast.literal_eval(v) for k, v in (kv.split("=", 1) for kv in text.split(";") if kv)}


def profile_unit(block, params: dict, name: str) -> None:
    """Where the time of one unit goes, by torch's profiler (a shortened run: 3 rounds per stage)."""
    from torch.profiler import ProfilerActivity, profile

    model = MLP(**{**params, "pretrain_epochs": 3, "finetune_epochs": 3})
    from s2rbench_plugins.models import mlp as mlp_mod

    mlp_mod._PRETRAINED.clear()
    t0 = time.process_time()  # CPU time: on a shared machine the wall clock includes waiting for a core
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        model.fit_predict(block)
    wall = time.process_time() - t0
    cats = {
        "matmul (bmm/baddbmm/mm)": ("bmm", "baddbmm", "mm", "addmm", "matmul"),
        "gathers (index_select/gather/index)": ("index_select", "gather", "index", "take"),
        "optimizer (_foreach_*, _fused_adamw_)": ("_foreach", "_fused_adamw"),
        "elementwise fwd/bwd (act, standardize, loss)": (
            "silu",
            "sub",
            "mul",
            "add",
            "clamp",
            "nan_to_num",
            "square",
            "mean",
            "sum",
            "pow",
            "sigmoid",
            "div",
            "where",
            "abs",
            "copy_",
            "fill_",
            "zero_",
            "neg",
            "threshold",
        ),
    }
    tot = {c: 0.0 for c in cats}
    wall = sum(ev.self_cpu_time_total for ev in prof.key_averages()) / 1e6  # the profiler's own clock
    other = 0.0
    for ev in prof.key_averages():
        op = ev.key.split("::")[-1]
        t = ev.self_cpu_time_total / 1e6
        for c, keys in cats.items():
            if any(op == k or op.startswith(k + "_") or (op.startswith(k) and c.startswith("optimizer")) for k in keys):
                tot[c] += t
                break
        else:
            other += t
    print(
        f"\n== profile of {name}, T={block.n_trials} n={block.n} (3 rounds per stage), {wall:.2f} CPU s under the profiler"
    )
    for c, t in tot.items():
        print(f"  {c:<48} {t:7.2f} s {100 * t / wall:5.1f}%")
    print(f"  {'other ops':<48} {other:7.2f} s {100 * other / wall:5.1f}%")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))


def step_report(args) -> None:
    """One training step of the ``mlp`` (gather, standardize, forward, backward, fused AdamW) at the
    bandgap shapes (d = 132, 132 -> 128 -> 64 -> 1), for replicas x batch in a grid, with the matmul
    peak measured in the same run: where the time of a step goes once the run's bookkeeping
    (validation, early stopping, the Python loop over rounds) is taken out, and how much a larger
    batch would buy. Ends with the torch profiler's table of one shape (``--steps-profile GxB``)."""
    from torch.profiler import ProfilerActivity, profile

    from s2rbench_plugins.models import _network as net

    torch.set_num_threads(1)
    d, n, hidden = 132, 10_000, [128, 64]
    flop_row = sum(a * b for a, b in zip([d, *hidden], [*hidden, 1])) * 2 * 3  # forward + backward
    peak = matmul_peak(d, tuple(hidden), 64, (4, 25))
    print(f"\n== fp32 matmul peak, 1 thread, load avg {os.getloadavg()[0]:.1f}")
    for k, v in peak.items():
        print(f"  {k:<40} {v:7.1f} GFLOP/s")
    ref = max(peak.values())

    def make(G: int, B: int, compiled: bool = False):
        gen = torch.Generator().manual_seed(0)
        X = torch.randn(n, d, generator=gen)
        P = [q.clone().requires_grad_(True) for q in net.init_params(np.arange(G), [d, *hidden, 1], "cpu")]
        opt = net.AdamW(P, lr=1e-3, weight_decay=1e-2, fused=True)
        mu, isd = torch.zeros(G, 1, d), torch.ones(G, 1, d)
        act = net.activation("silu")
        idx = torch.randint(0, n, (G, B), generator=gen)
        y = torch.randn(G, B, generator=gen)

        def loss(params):
            xs = net.standardize(net.gather_rows(X, idx), mu, isd, False, 5.0)
            return (net.forward(params, xs, act) - y).square().mean(1).sum()

        # torch.compile (inductor) of the forward pass and loss; the backward is compiled with it
        f = torch.compile(loss, dynamic=False) if compiled else loss

        def step() -> None:
            f(opt.params).backward()
            opt.step()

        return step

    kinds = (False, True) if args.compile else (False,)
    print(f"\n{'replicas':>8} {'batch':>6} {'kernels':>8} {'ms/step':>8} {'GFLOP/s':>8} {'% peak':>7} {'us/row':>7}")
    for G in (4, 25):
        for B in (64, 128, 256, 512):
            for compiled in kinds:  # side by side: eager then compiled, at each shape
                step = make(G, B, compiled)
                step()
                step()  # compiled: the first calls compile
                k = max(10, 4000 // (G * B // 16))
                c0 = time.process_time()
                for _ in range(k):
                    step()
                ms = (time.process_time() - c0) / k * 1e3
                rate = G * B * flop_row / ms / 1e6
                print(
                    f"{G:8d} {B:6d} {'compiled' if compiled else 'eager':>8} {ms:8.2f} {rate:8.1f} "
                    f"{100 * rate / ref:6.0f}% {1e3 * ms / (G * B):7.2f}",
                    flush=True,
                )
    G, B = (int(v) for v in args.steps_profile.split("x"))
    step = make(G, B)
    step()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for _ in range(50):
            step()
    print(f"\n== profile of 50 steps, {G} replicas x batch {B}")
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=12))


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
    ap.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch intra-op CPU threads; 0 = torch's own choice. Default 1: on a shared, "
        "oversubscribed CPU several threads make both paths many times slower",
    )
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a model hyperparameter (Python literal), e.g. --set hidden=(64,64)",
    )
    ap.add_argument(
        "--bandgap",
        action="store_true",
        help="instead: the fp32 matmul peak and the training FLOP rate at the bandgap unit shapes",
    )
    ap.add_argument("--units", default="", help="with --bandgap: TxN,... (default 4x10000,4x30000,25x10000,25x30000)")
    ap.add_argument("--m", type=int, default=200)
    ap.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="NAME:KEY=VALUE;...",
        help="with --bandgap: another hyperparameter set to time side by side with the current one",
    )
    ap.add_argument("--no-current", action="store_true", help="with --bandgap: only the --variant sets")
    ap.add_argument("--profile-only", action="store_true", help="with --bandgap: only the profiles, of every variant")
    ap.add_argument("--profile", action="store_true", help="with --bandgap: torch profiler of the first unit")
    ap.add_argument(
        "--steps",
        action="store_true",
        help="instead: one training step at the bandgap shapes, replicas x batch in a grid, with the peak",
    )
    ap.add_argument("--steps-profile", default="25x64", metavar="GxB", help="with --steps: the shape to profile")
    ap.add_argument("--compile", action="store_true", help="with --steps: also time each shape under torch.compile")
    args = ap.parse_args()
    if args.steps:
        step_report(args)
        return
    if args.bandgap:
        import ast

        args.params = {k: ast.literal_eval(v) for k, v in (kv.split("=", 1) for kv in args.set)}
        if args.seed == 0:
            args.seed = 3
        flops_report(args)
        return
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
