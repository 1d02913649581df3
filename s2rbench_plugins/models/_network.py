"""Internals shared by the built-in models: the batched network of ``mlp`` (used as is by
``mlp-head``, ``delta`` and ``stack``), the validation-split rule of every built-in model (``gbdt-*``
too), and the two facts about the machine a model needs (free memory, threads of the unit).

Why a module of its own: ``strategies`` and ``gbdt`` used to import nine private names from
``mlp`` (issue 14); the names here are the documented interface between the built-in models, not
part of the plugin API (the leading underscore of the module says so).

Why torch is imported inside the functions: loading the plugins (``s2rbench list``, ``plugins``)
must not import torch (about 1 s of the 1.8 s those commands took); the first call that trains
imports it, and :func:`torch_module` then gives torch the thread count of the unit being run.

Public names
------------
- ``ACTIVATION_NAMES``, :func:`activation`; ``PRECISIONS``, :func:`precision_scope`; ``CHUNK``.
- :func:`round_half_up`, :func:`seed_u64`; ``MIN_SPLIT_ROWS``, :func:`val_split`, :func:`real_rows`.
- :class:`Stage` (shapes and row sets of one training stage), :func:`init_params`, :func:`forward`,
  :func:`standardize`, :func:`gather_rows`, :func:`to_device_features`, :func:`scalers`,
  :class:`AdamW` (the stacked-replica optimizer).
- :func:`available_memory_bytes`, :func:`compute_threads`, :func:`torch_module`.
"""

from __future__ import annotations

import contextlib
import math
import os
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

#: hidden-layer nonlinearities (all map 0 to 0)
ACTIVATION_NAMES = ("relu", "silu", "gelu", "tanh")

#: arithmetic of the matrix products: full float32 (the default), TF32 tensor cores (CUDA, Ampere and
#: later; elsewhere PyTorch's "high" float32 matmul precision), or bfloat16 autocast
PRECISIONS = ("fp32", "tf32", "bf16")

#: rows per forward chunk when validating / predicting (a fixed number, so results do not depend on T)
CHUNK = 2048

#: fewer usable rows than this in a stage: no validation split (the rows themselves are monitored)
MIN_SPLIT_ROWS = 5

_THREADS_SET = False


# ---------------------------------------------------------------------- the machine
def torch_module():
    """``torch``, imported on first use. When this call is the one that imports torch, torch's
    intra-op threads are set to the BLAS thread limit in force (threadpoolctl): the harness limits
    the threads of a unit (``s2rbench.sweep.executors.unit_threads``) before the model runs, and it
    can only set torch's count when torch is already loaded; after the first import it does so
    itself. A torch imported before (by a test, a user script) keeps the threads it was given."""
    global _THREADS_SET
    import sys

    if _THREADS_SET or "torch" in sys.modules:  # loaded before: whoever loaded it set its threads
        _THREADS_SET = True
        return sys.modules["torch"] if "torch" in sys.modules else __import__("torch")
    _THREADS_SET = True
    import torch

    limit = _blas_thread_limit()
    if limit is not None and limit != torch.get_num_threads():
        torch.set_num_threads(limit)
    return torch


def _blas_thread_limit() -> int | None:
    """The thread count in force for the BLAS / OpenMP libraries loaded now (threadpoolctl), or None."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return None
    counts = [int(i["num_threads"]) for i in threadpool_info() if i.get("num_threads")]
    return min(counts) if counts else None


def compute_threads() -> int:
    """Threads a model may compute with now: the limit the harness set for this unit (torch's
    intra-op count when torch is loaded, which ``unit_threads`` sets; else the BLAS limit), else
    the machine's cores."""
    import sys

    torch = sys.modules.get("torch")
    if torch is not None:
        return max(1, int(torch.get_num_threads()))
    limit = _blas_thread_limit()
    return max(1, limit if limit is not None else (os.cpu_count() or 1))


def available_memory_bytes(device: str = "cpu") -> int | None:
    """Memory a model may use now on ``device`` (None: unknown). The one place the built-in models
    ask the core: ``s2rbench.contracts`` when it offers the function, else the executors' own."""
    try:
        from s2rbench.contracts import available_memory_bytes as probe  # type: ignore[attr-defined]
    except ImportError:
        from s2rbench.sweep.executors import available_memory_bytes as probe
    return probe(str(device))


# ---------------------------------------------------------------------- seeds and splits
def round_half_up(x: float) -> int:
    return math.floor(x + 0.5)


def seed_u64(seed: Any) -> int:
    return int(np.int64(seed)) & 0xFFFFFFFFFFFFFFFF


def val_split(valid_pos: np.ndarray, seed: Any, stage: int, val_fraction: float) -> tuple[np.ndarray, np.ndarray]:
    """(fit positions, validation positions) of one trial's valid rows, by ``mlp``'s rule: a
    permutation from the trial seed's ``stage`` stream, the first ``max(1, round(val_fraction*s))``
    validate; fewer than 5 rows (or val_fraction 0): no validation rows."""
    s = valid_pos.size
    if s < MIN_SPLIT_ROWS or val_fraction <= 0:
        return np.sort(valid_pos), np.empty(0, dtype=np.int64)
    perm = np.random.default_rng([seed_u64(seed), stage]).permutation(valid_pos)
    n_val = max(1, round_half_up(val_fraction * s))
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


def real_rows(block, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Trial k's usable real training rows (mask True, finite target): (row indices, targets, float64)."""
    y = np.asarray(block.y_train[k], dtype=np.float64)
    ok = np.asarray(block.train_mask[k], dtype=bool) & np.isfinite(y)
    return np.asarray(block.train_idx[k], dtype=np.int64)[ok], y[ok]


class Stage:
    """Shapes and per-replica row sets of one training stage, derived from (L, hyperparameters).

    ``mask`` (G, L): the usable rows of each replica; each replica's rows are split by the
    ``val_split`` rule of its seed's ``stage`` stream (positions in 0..L-1)."""

    def __init__(
        self, mask: np.ndarray, seeds: np.ndarray, stage: int, val_fraction: float, batch_size: int, min_steps: int
    ) -> None:
        G, L = mask.shape
        self.L = L
        if val_fraction > 0:
            n_val_nominal = round_half_up(val_fraction * L) if L >= MIN_SPLIT_ROWS else 0
            self.v_max = max(n_val_nominal, min(L, 4), 1)
        else:
            n_val_nominal = 0
            self.v_max = max(L, 1)
        l_train = max(L - n_val_nominal, 1)
        self.batch = max(1, min(batch_size, l_train))
        self.steps = max(math.ceil(l_train / self.batch), min_steps, 1)

        self.rngs = [np.random.default_rng([seed_u64(s), stage]) for s in seeds]
        self.train_pos: list[np.ndarray] = []
        self.val_pos = np.zeros((G, self.v_max), dtype=np.int64)
        self.val_w = np.zeros((G, self.v_max), dtype=np.float32)
        self._buf: list[np.ndarray] = []
        for k in range(G):
            valid = np.flatnonzero(mask[k])
            perm = self.rngs[k].permutation(valid)
            s = perm.size
            n_val = max(1, round_half_up(val_fraction * s)) if (val_fraction > 0 and s >= MIN_SPLIT_ROWS) else 0
            tr = np.sort(perm[n_val:])
            va = np.sort(perm[:n_val]) if n_val else tr  # too few rows: monitor the training rows
            self.train_pos.append(tr)
            if va.size:
                self.val_pos[k, : va.size] = va
                self.val_w[k, : va.size] = 1.0 / va.size
            self._buf.append(np.empty(0, dtype=np.int64))

    def draw(self, k: int, rounds: int = 1) -> np.ndarray:
        """Positions of replica k's minibatches for ``rounds`` rounds: rounds * steps * batch, without
        replacement within a pass over its training rows (the stream does not depend on how many
        rounds are drawn at once)."""
        need = rounds * self.steps * self.batch
        buf = self._buf[k]
        while buf.size < need:
            buf = np.concatenate([buf, self.rngs[k].permutation(self.train_pos[k])])
        self._buf[k] = buf[need:]
        return buf[:need]


# ---------------------------------------------------------------------- tensors
def activation(name: str) -> Callable:
    torch = torch_module()
    return {"relu": torch.relu, "silu": torch.nn.functional.silu, "gelu": torch.nn.functional.gelu, "tanh": torch.tanh}[
        name
    ]


@contextlib.contextmanager
def precision_scope(precision: str, dev):
    """Run a group's training and prediction at the requested matmul precision, and restore the
    process-wide settings afterwards (another unit in the same process must not inherit them)."""
    torch = torch_module()
    if precision == "fp32":
        yield
        return
    if precision == "tf32":
        old_matmul = torch.get_float32_matmul_precision()
        old_cuda = torch.backends.cuda.matmul.allow_tf32 if dev.type == "cuda" else None
        torch.set_float32_matmul_precision("high")
        if dev.type == "cuda":
            torch.backends.cuda.matmul.allow_tf32 = True
        try:
            yield
        finally:
            torch.set_float32_matmul_precision(old_matmul)
            if old_cuda is not None:
                torch.backends.cuda.matmul.allow_tf32 = old_cuda
        return
    # no cast cache: the weights change at every step inside this one context, and a cached bf16 copy
    # of a leaf tensor would be reused stale (training then diverges)
    with torch.autocast(device_type=dev.type, dtype=torch.bfloat16, cache_enabled=False):
        yield


def to_device_features(X: np.ndarray, dev):
    torch = torch_module()
    t = torch.as_tensor(np.asarray(X, dtype=np.float32), device=dev)
    if not bool(torch.isfinite(t).all()):
        t = torch.where(torch.isfinite(t), t, torch.full_like(t, float("nan")))
    return t


def gather_rows(X, idx):
    """X[idx] for an index tensor (G, B): (G, B, d), gathered from the shared matrix."""
    return X.index_select(0, idx.reshape(-1)).view(*idx.shape, X.shape[1])


def standardize(x, mu, isd, impute: bool = True, clip: float = 5.0):
    """(x - mu) * isd; NaN (missing) inputs become 0 after standardization (imputation with the
    scaler's column mean); clipped to ±clip (0: no clipping)."""
    import torch

    z = (x - mu) * isd
    if impute:
        z = torch.nan_to_num(z, nan=0.0)
    return z.clamp(-clip, clip) if clip > 0 else z


def forward(P: list, x, act):
    """P = [W1, b1, ..., w_out, b_out]; W (G, in, out), b (G, 1, out), w_out (G, 1, h), b_out (G, 1, 1).
    x (G, B, d) -> (G, B). The output layer is a product + sum (not a bmm with out == 1, whose BLAS path
    changes with G and would make a replica's numbers depend on the block size)."""
    import torch

    h = x
    for i in range(0, len(P) - 2, 2):
        h = act(torch.baddbmm(P[i + 1], h, P[i]))
    return ((h * P[-2]).sum(-1) + P[-1].squeeze(-1)).float()  # float32 under bf16 autocast too


def init_params(seeds: np.ndarray, sizes: list[int], dev) -> list:
    """PyTorch-Linear-style uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) init, one CPU generator per replica."""
    torch = torch_module()
    per_layer: list[list] = [[] for _ in range(2 * (len(sizes) - 1))]
    for s in seeds:
        gen = torch.Generator(device="cpu")
        gen.manual_seed(int(np.random.default_rng([seed_u64(s), 0]).integers(2**62)))
        for li, (fi, fo) in enumerate(zip(sizes[:-1], sizes[1:])):
            bound = 1.0 / math.sqrt(fi)
            last = li == len(sizes) - 2
            w = (torch.rand((fo, fi) if last else (fi, fo), generator=gen) * 2 - 1) * bound
            b = (torch.rand((1, fo), generator=gen) * 2 - 1) * bound
            per_layer[2 * li].append(w)
            per_layer[2 * li + 1].append(b)
    return [torch.stack(ts).to(dev) for ts in per_layer]


class AdamW:
    """AdamW (decoupled weight decay) over stacked per-replica parameters. All operations are
    elementwise, so replica k's update depends on its own gradients only. ``keep`` drops replicas
    (rows of the leading dim) from the parameters, the moment estimates and the learning rates.

    Two paths:
    - ``fused=True`` and one learning rate: torch's fused CPU/CUDA AdamW kernel (one pass over each
      tensor instead of eight; measured 2.6x less time per step at T = 25, 132 -> 128 -> 64) for the
      tensors whose per-replica size is a multiple of 64. The kernel is vectorized with a scalar
      tail, and its tail rounds differently (measured 3e-8 on a (3, 7) tensor under AVX2 and AVX-512),
      so a tensor of another size (the output bias, one value per replica) takes the other path,
      and a replica's numbers stay independent of how many replicas share the tensors.
    - otherwise a handful of ``torch._foreach_*`` calls per step (``torch.optim.AdamW``'s per-step
      Python overhead is several times larger, most of a small network's step). ``lr`` may be a (G,)
      array: one learning rate per replica (the candidates of a learning-rate grid trained side by
      side); it then broadcasts as (G, 1, 1) tensors.
    """

    def __init__(self, params, lr, weight_decay, betas=(0.9, 0.999), eps=1e-8, fused: bool = False):
        torch = torch_module()
        self.params = params
        self.wd, self.b1, self.b2, self.eps = weight_decay, betas[0], betas[1], eps
        self.m = [torch.zeros_like(q) for q in params]
        self.v = [torch.zeros_like(q) for q in params]
        self.t = 0
        #: optional schedule: the scalar learning rate of step t (1, 2, ...), set before each step
        self.lr_at: Callable[[int], float] | None = None
        lr_arr = np.asarray(lr, dtype=np.float64)
        self.scalar_lr = lr_arr.ndim == 0
        if self.scalar_lr:
            self.lr = float(lr_arr)
        else:  # per replica: (G, 1, 1) tensors broadcast over every parameter tensor (G, a, b)
            self._lr = torch.as_tensor(lr_arr, dtype=params[0].dtype, device=params[0].device).view(-1, 1, 1)
        per_replica = [int(q[0].numel()) if q.shape[0] else 0 for q in params]
        self.fused_ids = [i for i, c in enumerate(per_replica) if fused and self.scalar_lr and c % 64 == 0]
        self.plain_ids = [i for i in range(len(params)) if i not in self.fused_ids]
        self._steps = [torch.zeros((), dtype=torch.float32, device=params[0].device) for _ in self.fused_ids]

    def step(self) -> None:
        torch = torch_module()
        with torch.no_grad():
            self.t += 1
            if self.lr_at is not None and self.scalar_lr:
                self.lr = float(self.lr_at(self.t))
            if self.fused_ids:
                f = self.fused_ids
                torch._foreach_add_(self._steps, 1.0)
                torch._fused_adamw_(
                    [self.params[i] for i in f],
                    [self.params[i].grad for i in f],
                    [self.m[i] for i in f],
                    [self.v[i] for i in f],
                    [],
                    self._steps,
                    lr=self.lr,
                    beta1=self.b1,
                    beta2=self.b2,
                    weight_decay=self.wd,
                    eps=self.eps,
                    amsgrad=False,
                    maximize=False,
                )
            if self.plain_ids:
                ids = self.plain_ids
                P = [self.params[i] for i in ids]
                grads = [q.grad for q in P]
                m, v = [self.m[i] for i in ids], [self.v[i] for i in ids]
                bc1 = 1.0 - self.b1**self.t
                bc2_sqrt = math.sqrt(1.0 - self.b2**self.t)
                torch._foreach_lerp_(m, grads, 1.0 - self.b1)
                torch._foreach_mul_(v, self.b2)
                torch._foreach_addcmul_(v, grads, grads, value=1.0 - self.b2)
                denom = torch._foreach_sqrt(v)
                torch._foreach_div_(denom, bc2_sqrt)
                torch._foreach_add_(denom, self.eps)
                if self.scalar_lr:
                    if self.wd:
                        torch._foreach_mul_(P, 1.0 - self.lr * self.wd)
                    torch._foreach_addcdiv_(P, m, denom, value=-self.lr / bc1)
                else:
                    if self.wd:
                        torch._foreach_mul_(P, [1.0 - self._lr * self.wd] * len(P))
                    upd = torch._foreach_div(m, denom)
                    torch._foreach_mul_(upd, [self._lr * (-1.0 / bc1)] * len(P))
                    torch._foreach_add_(P, upd)
            for q in self.params:
                q.grad = None

    def keep(self, keep_t) -> None:
        self.params = [q.detach()[keep_t].clone().requires_grad_(True) for q in self.params]
        self.m = [a[keep_t].clone() for a in self.m]
        self.v = [a[keep_t].clone() for a in self.v]
        if not self.scalar_lr:
            self._lr = self._lr[keep_t]


def cosine_lr(peak: float, total_steps: int) -> Callable[[int], float]:
    """``peak * (1 + cos(pi * (t - 1) / total)) / 2`` for step t = 1 .. total (then 0): the first
    step takes the peak rate, the schedule reaches 0 after ``total`` steps."""
    total = max(int(total_steps), 1)

    def lr_at(t: int) -> float:
        return 0.5 * peak * (1.0 + math.cos(math.pi * min(t - 1, total) / total))

    return lr_at


def scalers(X: np.ndarray, rows: np.ndarray, y: np.ndarray, mask: np.ndarray):
    """Per-replica (mean, 1/std) of the inputs and (mean, std) of the targets over its masked rows,
    in float64; missing / constant columns get mean 0 / scale 1."""
    G = rows.shape[0]
    d = X.shape[1]
    mu = np.zeros((G, d))
    isd = np.ones((G, d))
    ymu = np.zeros(G)
    ysd = np.ones(G)
    for k in range(G):
        r = rows[k][mask[k]]
        if r.size == 0:
            continue
        xk = np.asarray(X[r], dtype=np.float64)
        xk[~np.isfinite(xk)] = np.nan
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            m = np.nanmean(xk, axis=0)
            sd = np.nanstd(xk, axis=0)
        m = np.where(np.isfinite(m), m, 0.0)
        sd = np.where(np.isfinite(sd) & (sd > 1e-12), sd, 1.0)
        mu[k], isd[k] = m, 1.0 / sd
        yk = y[k][mask[k]]
        ymu[k] = yk.mean()
        s = yk.std()
        ysd[k] = s if np.isfinite(s) and s > 1e-12 else 1.0
    return mu, isd, ymu, ysd
