"""Built-in samplers: which simulations to pretrain on first (`diverse`, `near-real`, `stratified`).

Every sampler returns one ordering of the whole simulated pool per trial; the first n rows are the
pretraining set of size n, so sets are nested across n by construction, and the ordering does not
depend on the n grid (`n_max` is ignored). All randomness comes from the trial's stable stream
(`ctx.random_order()`, `ctx.bit_stream()`), never from a global RNG: a (data, seed, trial) triple
always gives the same ordering.

``diverse``
    Coverage of the standardized feature space. Features are standardized with the pool's mean and
    standard deviation (NaN → the mean, constant columns dropped) and projected on their first
    `PCS` principal components (the basis fitted on up to `PCA_ROWS` pool rows). Greedy
    farthest-point traversal (Gonzalez' k-centre heuristic) from a random start picks `CAP` centres
    among `CANDIDATES` candidate rows (the first rows of the trial's random order); these centres are
    the head of the ordering (n ≤ CAP: farthest-point sets). Every other pool row joins the cell of
    its nearest centre, and the rest of the ordering is a round-robin over the cells (in centre
    order), each cell's rows in the trial's random order: every prefix spreads evenly over the
    cells, i.e. over the regions of feature space, rather than following the pool's density.
    Time O(N·d·p + M·CAP·p + N·CAP·p + N log N) for a pool of N rows with d features, p = min(d, PCS)
    components and M = min(N, CANDIDATES); memory O(N·p) plus one 4 M-entry distance block.
    On a 10^5 × 130 pool that is about a second (see tests/plugins/test_samplers.py).

``near-real``
    The pool rows closest to the trial's real *training* inputs first: Euclidean distance, in the
    pool-standardized feature space (all features, no projection; NaN → the mean), from each pool row
    to its nearest real training row; ties (e.g. the same composition) in the trial's random order.
    Time O(N·m·d) in blocks; memory O(N + block).

``stratified``
    An equal share per chemical family: a round-robin over the families in a seeded random order,
    each family's rows in the trial's random order (a family that runs out drops out of the cycle).
    Families come from `ctx.families` when the card names a family column; otherwise from the
    canonical inputs, by input kind:
      * composition: the number of distinct elements ("1 element" … "5+ elements");
      * polymer: the backbone (the shortest path between the two attachment points) is
        "aromatic backbone" if an atom on it is aromatic, else "heteroatom backbone" if one is not
        carbon, else "all-carbon backbone" (RDKit);
      * polymer-solvent pair: the polymer of the pair (its canonical repeat unit);
      * anything else (vector, tabular features): no chemistry to go by, so the sign pattern of the
        first three principal components of the standardized features (up to 8 regions).
    The input kind is `ctx.input_kind` when given, else inferred from the inputs ("|" → pair,
    "*" → polymer, numbers → vector, element symbols → composition).

Each class also implements `Sampler.suggest` for `s2rbench suggest`, continuing from the existing
simulated table (see docs/samplers.md).
"""

from __future__ import annotations

import contextlib
import functools
import re
import warnings
from collections.abc import Sequence

import numpy as np

from s2rbench.contracts.featurizer import PART_SEP, POLYMER_ATTACHMENT_Z
from s2rbench.contracts.sampler import (
    Sampler,
    SamplingContext,
    SuggestContext,
    Suggestion,
    raw_bits,
)
from s2rbench.hookspecs import hookimpl

__all__ = [
    "Diverse",
    "NearReal",
    "Stratified",
    "family_labels",
    "farthest_first",
    "nearest",
    "round_robin",
    "standardize",
]

# ---------------------------------------------------------------------------------------------
# Shared numerics
# ---------------------------------------------------------------------------------------------

BLOCK = 1 << 22  # entries of one distance block (32 MiB of float64)


def _one_blas_thread():
    """BLAS/LAPACK on one thread while a sampler runs (threadpoolctl, when installed).

    The matrices here are small enough that threads buy little, and a threaded OpenBLAS on busy
    cores is 10-100x slower on small LAPACK calls; one thread also makes the float results
    independent of the machine's thread count, and leaves the cores to parallel sweep workers.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # optional: without it, BLAS keeps its own threading
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def single_threaded(method):
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _one_blas_thread():
            return method(*args, **kwargs)

    return wrapper


def standardize(ref: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """z-scores with `ref`'s column mean and std; NaN → 0 (the mean); constant or all-NaN columns dropped."""
    ref = np.asarray(ref)
    ref = ref.reshape(len(ref), -1) if ref.ndim != 2 else ref
    if len(ref) == 0:
        mu = sd = np.zeros(ref.shape[1])
    elif not np.isnan(ref).any():
        mu = ref.mean(axis=0, dtype=np.float64)
        sd = ref.std(axis=0, dtype=np.float64)
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN columns
            mu, sd = np.nanmean(ref, axis=0), np.nanstd(ref, axis=0)
    keep = np.isfinite(mu) & np.isfinite(sd) & (sd > 1e-12)

    every = bool(keep.all())

    def z(X: np.ndarray) -> np.ndarray:
        X = np.asarray(X).reshape(-1, ref.shape[1])
        Z = np.array(X if every else X[:, keep], dtype=np.float64, order="C")
        Z -= mu[keep]
        Z /= sd[keep]
        bad = ~np.isfinite(Z)
        if bad.any():
            Z[bad] = 0.0
        return Z

    return [z(ref), *[z(o) for o in others]]


def pca_basis(Z: np.ndarray, rows: np.ndarray, k: int) -> np.ndarray:
    """(d, p) orthonormal basis of the first p = min(k, rank) principal directions of Z[rows] (centred).

    Identity when d ≤ k. Up to `EXACT_PCA_MAX_D` features: eigenvectors of the d × d covariance,
    O(rows·d² + d³). Wider (fingerprints): a randomized range finder with two power iterations and
    a fixed test matrix from raw PCG64 bits (deterministic), O(rows·d·k).
    """
    d = Z.shape[1]
    if d <= k:
        return np.eye(d)
    sub = Z[rows]
    sub = sub - sub.mean(axis=0)
    if d <= EXACT_PCA_MAX_D:
        w, v = np.linalg.eigh(sub.T @ sub)
        top = np.argsort(w)[::-1]
        p = max(1, min(k, int((w > 1e-9 * max(w.max(), 1e-300)).sum())))
        return v[:, top[:p]]
    width = min(k + 10, min(sub.shape))
    bits = np.random.PCG64(np.random.SeedSequence(20240501)).random_raw(d * width)
    omega = (np.asarray(bits, dtype=np.uint64) >> np.uint64(11)).astype(np.float64).reshape(d, width) / 2.0**53 - 0.5
    Q, _ = np.linalg.qr(sub @ omega)
    for _ in range(2):
        Q, _ = np.linalg.qr(sub.T @ Q)
        Q, _ = np.linalg.qr(sub @ Q)
    _, sv, vt = np.linalg.svd(Q.T @ sub, full_matrices=False)
    p = max(1, min(k, int((sv > 1e-9 * max(sv.max(), 1e-300)).sum())))
    return vt[:p].T


EXACT_PCA_MAX_D = 256


def nearest(A: np.ndarray, B: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each row of A: the Euclidean distance to its nearest row of B, and that row's index.

    The search is blocked float32 BLAS (|b|² − 2a·b; about 4 M entries a block); the distance to the
    row found is then recomputed in float64 and rounded to `DIGITS` significant digits, so that
    near-ties within float32 error become exact ties (callers break those in the trial's random order).
    """
    A = np.asarray(A, dtype=np.float64)
    B = np.asarray(B, dtype=np.float64)
    dist = np.full(len(A), np.inf)
    arg = np.full(len(A), -1, dtype=np.int64)
    if len(B) == 0 or len(A) == 0:
        return dist, arg
    A32, B32 = A.astype(np.float32), B.astype(np.float32)
    b2 = np.einsum("ij,ij->i", B32, B32)
    step = max(1, BLOCK // max(1, len(B)))
    for i in range(0, len(A), step):
        d2 = A32[i : i + step] @ B32.T
        d2 *= -2.0
        d2 += b2  # + |a|², constant per row: irrelevant for the argmin
        j = np.argmin(d2, axis=1)
        arg[i : i + step] = j
        diff = A[i : i + step] - B[j]
        dist[i : i + step] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return _round(dist), arg


DIGITS = 6


def _round(x: np.ndarray) -> np.ndarray:
    """Round to DIGITS significant digits (inf and 0 unchanged)."""
    out = np.array(x, dtype=np.float64)
    fin = np.isfinite(out) & (out > 0)
    if fin.any():
        mag = 10.0 ** (np.floor(np.log10(out[fin])) - (DIGITS - 1))
        out[fin] = np.round(out[fin] / mag) * mag
    return out


def farthest_first(
    Z: np.ndarray, k: int, *, start: int | None = None, floor: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Greedy farthest-point traversal of the rows of Z: k picks, each the row farthest from all earlier picks.

    `floor` (optional, per row) is a distance already covered (to points outside Z, e.g. an existing
    table): a row's score is min(floor, distance to the picks). Ties go to the lowest row index, so
    callers pass Z in a random order to break ties randomly. Returns (picks, distance to the nearest
    earlier pick at pick time, floor at pick time), distances recomputed in float64.
    O(k·len(Z)·p) time (float32, single-threaded), O(len(Z)) extra memory.
    """
    n = len(Z)
    k = min(int(k), n)
    Z64 = np.asarray(Z, dtype=np.float64)
    Z32 = Z64.astype(np.float32)
    z2 = np.einsum("ij,ij->i", Z32, Z32)
    to_picks = np.full(n, np.inf, dtype=np.float32)
    floor = np.full(n, np.inf) if floor is None else np.asarray(floor, dtype=np.float64)
    score = (floor**2).astype(np.float32)
    floor2 = score.copy()
    picks = np.empty(k, dtype=np.int64)
    d_pick = np.full(k, np.inf)
    for s in range(k):
        i = int(start) if s == 0 and start is not None else int(np.argmax(score))
        picks[s] = i
        if s:
            diff = Z64[picks[:s]] - Z64[i]
            d_pick[s] = np.sqrt(np.einsum("ij,ij->i", diff, diff).min())
        d2 = np.einsum("ij,j->i", Z32, Z32[i])  # not BLAS: threaded gemv stalls on a busy machine
        d2 *= -2.0
        d2 += z2
        d2 += z2[i]
        np.minimum(to_picks, d2, out=to_picks)
        np.minimum(floor2, to_picks, out=score)
        score[picks[: s + 1]] = -np.inf
    return picks, _round(d_pick), _round(floor[picks])


def round_robin(group: np.ndarray, cycle_pos: np.ndarray, priority: np.ndarray) -> np.ndarray:
    """An ordering of all rows that takes one row per group per round.

    Groups are visited in `cycle_pos[group]` order within every round; a group's rows go in
    increasing `priority`; an exhausted group is skipped. Vectorised: O(N log N).
    """
    group = np.asarray(group, dtype=np.int64)
    by_group = np.lexsort((priority, group))
    g = group[by_group]
    starts = np.flatnonzero(np.r_[True, g[1:] != g[:-1]])
    lengths = np.diff(np.r_[starts, len(g)])
    within = np.arange(len(g)) - np.repeat(starts, lengths)
    rnd = np.empty(len(g), dtype=np.int64)
    rnd[by_group] = within
    return np.lexsort((np.asarray(cycle_pos)[group], rnd)).astype(np.int64)


def _positions(order: np.ndarray) -> np.ndarray:
    pos = np.empty(len(order), dtype=np.int64)
    pos[order] = np.arange(len(order))
    return pos


def _cycle(stream, n_groups: int) -> np.ndarray:
    """A seeded random visiting position for each of n_groups groups (from raw bits, stable)."""
    bits = raw_bits(stream, n_groups, salt=1)
    return _positions(np.argsort(bits, kind="stable"))


# ---------------------------------------------------------------------------------------------
# Families
# ---------------------------------------------------------------------------------------------

_ELEMENT = re.compile(r"[A-Z][a-z]?")
_FORMULA = re.compile(r"^(?:[A-Z][a-z]?|[0-9.]+|[()\[\]{}\s·,:_+-])+$")
_NUMBERS = re.compile(r"^\s*[-+0-9.eE]+(?:\s*,\s*[-+0-9.eE]+)*\s*$")
_DUMMY_Z = POLYMER_ATTACHMENT_Z  # `*`, and the [Ce]/[Th] attachment placeholders of Afzal et al.


def infer_input_kind(inputs: Sequence[str]) -> str:
    """The input kind from the canonical inputs themselves (used when the context does not say)."""
    sample = [str(s) for s in inputs[:200]]
    if not sample:
        return "features"
    if all(PART_SEP in s for s in sample):
        return "polymer-solvent"
    if any("*" in s for s in sample):
        return "polymer"
    if all(_NUMBERS.match(s) for s in sample):
        return "vector"
    if all(_FORMULA.match(s) and _ELEMENT.search(s) for s in sample):
        return "composition"
    return "features"


def composition_family(formula: str) -> str:
    n = len(set(_ELEMENT.findall(str(formula))))
    return "5+ elements" if n >= 5 else f"{n} element{'s' if n != 1 else ''}"


@functools.lru_cache(maxsize=65536)
def backbone_class(smiles: str) -> str:
    """'aromatic backbone', 'heteroatom backbone' or 'all-carbon backbone' of a repeat unit with two attachment points."""
    from rdkit import Chem, rdBase

    with rdBase.BlockLogs():
        mol = Chem.MolFromSmiles(str(smiles))
    if mol is None:
        return "unparsed"
    ends = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() in _DUMMY_Z]
    if len(ends) != 2:
        ends = [a.GetIdx() for a in mol.GetAtoms() if a.GetAtomicNum() == 0]
    if len(ends) != 2:
        return "unparsed"
    path = Chem.GetShortestPath(mol, ends[0], ends[1])
    atoms = [mol.GetAtomWithIdx(i) for i in path[1:-1]]
    if not atoms:
        return "unparsed"
    if any(a.GetIsAromatic() for a in atoms):
        return "aromatic backbone"
    if any(a.GetAtomicNum() != 6 for a in atoms):
        return "heteroatom backbone"
    return "all-carbon backbone"


def _pc_octants(X: np.ndarray) -> np.ndarray:
    (Z,) = standardize(X)
    if Z.shape[1] == 0:
        return np.array(["all"] * len(Z), dtype=object)
    rows = np.arange(len(Z)) if len(Z) <= 20000 else np.linspace(0, len(Z) - 1, 20000).astype(np.int64)
    P = (Z - Z[rows].mean(axis=0)) @ pca_basis(Z, rows, 3)
    P = P[:, :3]
    return np.array(["pc" + "".join("+" if v >= 0 else "-" for v in row) for row in P], dtype=object)


def family_labels(inputs: Sequence[str], input_kind: str | None = None, X: np.ndarray | None = None) -> np.ndarray:
    """A chemical family per input (see the module docstring); `X` is needed only for the fallback."""
    kind = input_kind or infer_input_kind(inputs)
    if kind == "composition":
        return np.array([composition_family(s) for s in inputs], dtype=object)
    if kind == "polymer":
        return np.array([backbone_class(s) for s in inputs], dtype=object)
    if kind == "polymer-solvent":
        return np.array([str(s).split(PART_SEP)[0] for s in inputs], dtype=object)
    if X is None:
        return np.array(["all"] * len(inputs), dtype=object)
    return _pc_octants(X)


# ---------------------------------------------------------------------------------------------
# Samplers
# ---------------------------------------------------------------------------------------------


class Diverse(Sampler):
    """Farthest-point centres, then a round-robin over their cells (see the module docstring)."""

    name = "diverse"
    version = "1"
    description = "coverage of feature space: farthest-point centres, then round-robin over their cells"

    CAP = 1024  # farthest-point centres (the head of the ordering)
    CANDIDATES = 16384  # rows the centres are chosen among
    PCS = 32  # principal components the distances are measured in
    PCA_ROWS = 20000

    def __init__(self, cap: int | None = None, candidates: int | None = None, pcs: int | None = None) -> None:
        self.cap = int(cap or self.CAP)
        self.candidates = int(candidates or self.CANDIDATES)
        self.pcs = int(pcs or self.PCS)

    def space(self, ref: np.ndarray, rows: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
        """Standardize with `ref`, project on the first principal components of ref[rows]."""
        Zs = standardize(ref, *others)
        B = pca_basis(Zs[0], rows, self.pcs)
        return [np.ascontiguousarray(Z @ B) for Z in Zs]

    @single_threaded
    def order(self, ctx: SamplingContext, n_max: int) -> np.ndarray:
        N = len(ctx.X_pool)
        rand = ctx.random_order()
        if N == 0:
            return rand
        (Z,) = self.space(ctx.X_pool, rand[: self.PCA_ROWS])
        cand = rand[: min(N, self.candidates)]
        picks, _, _ = farthest_first(Z[cand], min(self.cap, len(cand)), start=0)
        centres = cand[picks]
        _, cell = nearest(Z, Z[centres])
        cell[centres] = np.arange(len(centres))  # a centre is its own cell's first row, even among duplicates
        priority = _positions(rand)
        priority[centres] = -1
        return round_robin(cell, np.arange(len(centres)), priority)

    @single_threaded
    def suggest(self, ctx: SuggestContext, k: int) -> Suggestion:
        """Fill the gaps the existing table leaves: each pick is the candidate farthest from both the
        existing simulated points and the candidates already picked (standardized on existing ∪
        candidates, first principal components). O(N_c·N_e·p + k·N_c·p)."""
        rand = ctx.random_order()  # candidates visited in random order: ties break randomly
        union = np.vstack([ctx.X_existing, ctx.X_candidates]) if len(ctx.X_existing) else np.asarray(ctx.X_candidates)
        rows = np.linspace(0, len(union) - 1, min(len(union), self.PCA_ROWS)).astype(np.int64)
        Zu, Zc = self.space(union, rows, ctx.X_candidates)
        Ze = Zu[: len(ctx.X_existing)]
        Zc = Zc[rand]
        to_existing, nearest_existing = nearest(Zc, Ze)
        picks, to_chosen, _ = farthest_first(Zc, k, floor=to_existing)
        reasons = []
        for p, dc in zip(picks, to_chosen):
            de = float(to_existing[p])
            reasons.append(
                {
                    "distance_to_existing": de if np.isfinite(de) else None,
                    "nearest_existing": ctx.existing_inputs[nearest_existing[p]] if nearest_existing[p] >= 0 else None,
                    "distance_to_chosen": float(dc) if np.isfinite(dc) else None,
                    "gap": float(min(de, dc)) if np.isfinite(min(de, dc)) else None,
                }
            )
        return Suggestion(index=rand[picks], reasons=reasons)


class NearReal(Sampler):
    """The pool rows nearest to the trial's real training inputs first."""

    name = "near-real"
    version = "1"
    description = "simulated rows closest to the trial's real training inputs first (standardized features)"

    @single_threaded
    def order(self, ctx: SamplingContext, n_max: int) -> np.ndarray:
        rand = ctx.random_order()
        if len(ctx.X_real_train) == 0 or len(ctx.X_pool) == 0:
            return rand
        Zp, Zr = standardize(ctx.X_pool, ctx.X_real_train)
        dist, _ = nearest(Zp, Zr)
        return np.lexsort((_positions(rand), dist)).astype(np.int64)

    @single_threaded
    def suggest(self, ctx: SuggestContext, k: int) -> Suggestion:
        """The candidates nearest to any real input (all real rows: there is no trial split here)."""
        rand = ctx.random_order()
        union = np.vstack([ctx.X_existing, ctx.X_candidates]) if len(ctx.X_existing) else np.asarray(ctx.X_candidates)
        _, Zc, Zr = standardize(union, ctx.X_candidates, ctx.X_real)
        dist, near = nearest(Zc, Zr)
        idx = np.lexsort((_positions(rand), dist))[:k].astype(np.int64)
        reasons = [
            {
                "distance_to_real": float(dist[i]) if np.isfinite(dist[i]) else None,
                "nearest_real": ctx.real_inputs[near[i]] if near[i] >= 0 else None,
            }
            for i in idx
        ]
        return Suggestion(index=idx, reasons=reasons)


class Stratified(Sampler):
    """An equal share per chemical family: round-robin over families in a seeded random order."""

    name = "stratified"
    version = "1"
    description = (
        "equal share per chemical family (elements, polymer backbone, polymer of a pair, or the card's column)"
    )

    def families(self, ctx: SamplingContext) -> np.ndarray:
        if ctx.families is not None:
            return np.asarray(ctx.families).astype(str).astype(object)
        return family_labels(ctx.inputs, ctx.input_kind, ctx.X_pool)

    @single_threaded
    def order(self, ctx: SamplingContext, n_max: int) -> np.ndarray:
        rand = ctx.random_order()
        if len(rand) == 0:
            return rand
        names, codes = np.unique(self.families(ctx).astype(str), return_inverse=True)
        cycle = _cycle(ctx.bit_stream(), len(names))
        return round_robin(codes, cycle, _positions(rand))

    @single_threaded
    def suggest(self, ctx: SuggestContext, k: int) -> Suggestion:
        """Continue the equal share: each pick comes from the family with the fewest rows so far
        (existing + picked), among families that still have candidates; ties in the seeded family order."""
        import heapq

        n_e = len(ctx.X_existing)
        union = ctx.union()
        fams = (
            np.asarray(union.families).astype(str)
            if union.families is not None
            else family_labels(union.inputs, ctx.input_kind, union.X_pool).astype(str)
        )
        names, codes = np.unique(fams, return_inverse=True)
        cycle = _cycle(ctx.bit_stream(), len(names))
        counts = np.bincount(codes[:n_e], minlength=len(names))
        cand_codes = codes[n_e:]
        queues: dict[int, list[int]] = {}
        for i in ctx.random_order():
            queues.setdefault(int(cand_codes[i]), []).append(int(i))
        heap = [(int(counts[f]), int(cycle[f]), f) for f in queues]
        heapq.heapify(heap)
        taken = {f: 0 for f in queues}
        idx, reasons = [], []
        while len(idx) < k and heap:
            c, pos, f = heapq.heappop(heap)
            i = queues[f][taken[f]]
            taken[f] += 1
            idx.append(i)
            reasons.append({"family": str(names[f]), "family_existing": int(counts[f]), "family_count_before": c})
            if taken[f] < len(queues[f]):
                heapq.heappush(heap, (c + 1, pos, f))
        return Suggestion(index=np.asarray(idx, dtype=np.int64), reasons=reasons)


@hookimpl
def register_samplers(register):
    register(Diverse())
    register(NearReal())
    register(Stratified())
