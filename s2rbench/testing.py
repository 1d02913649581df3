"""The check kit: contract checks a plugin author runs in their own test suite.

In the spirit of scikit-learn's ``parametrize_with_checks``: each check is a function of one object
that raises ``AssertionError`` with a message naming the object and the broken promise. The
project's own tests run the kit over every object the registry holds (tests/contracts/test_check_kit.py),
so a built-in model is held to exactly what a third-party one is.

    from s2rbench.testing import parametrize_with_checks

    @parametrize_with_checks([MyModel(), MyFeaturizer(), MySampler()])
    def test_my_plugin(obj, check):
        check(obj)

What is checked (docs/plugins.md, "The check kit", says why each matters):

- models, on a small synthetic `TrainingBlock`: output shape (T, M); the same block twice gives the
  same numbers (all randomness from ``block.seeds``); the targets of masked-out training rows
  (``train_mask`` False) are never read; nothing the model must not use changes its predictions
  (simulated targets outside every trial's pretraining rows, and one trial's data for another
  trial: trials of a block are independent); n == 0 (the scratch baseline) works; non-finite
  inputs give an `S2RBenchError` or finite output, never another exception; the model pickles and
  the copy predicts the same numbers; a model that declares ``trials_independent`` predicts a trial
  trained alone bit for bit as within its block.
- featurizers: the matrix has one row per input and ``len(feature_names())`` columns; canonicalize
  is idempotent; an invalid input becomes a NaN row and is listed; featurizing two halves gives
  the rows of the whole (the harness may featurize in chunks); it pickles.
- samplers: `order` returns distinct pool indices, at least ``n_max``; the same (seed, trial) gives
  the same order; orders are nested across n; it pickles.

Fast settings: a model may declare ``check_params`` (a dict of hyperparameter overrides, e.g. few
epochs) that the kit applies, and a model that reads one featurizer's columns only declares
``check_features(rng, rows) -> ndarray`` (valid input rows of that featurizer); a featurizer may declare ``check_inputs`` (valid inputs of its kind)
and ``check_invalid`` (inputs that must not parse) when the kit's examples for its ``input_kind``
do not fit. Every check works on a deep copy, so a stateful object in the registry is untouched.

This module imports NumPy and the contracts only; pytest is imported by `parametrize_with_checks`.
"""

from __future__ import annotations

import copy
import pickle
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .contracts.featurizer import PART_SEP, Featurizer, featurize_with
from .contracts.model import Model, TrainingBlock
from .contracts.sampler import Sampler, SamplingContext
from .errors import S2RBenchError

__all__ = [
    "FEATURIZER_CHECKS",
    "MODEL_CHECKS",
    "SAMPLER_CHECKS",
    "check_featurizer",
    "check_model",
    "check_sampler",
    "checks_for",
    "parametrize_with_checks",
    "synthetic_block",
]

Check = Callable[[Any], None]


# ---------------------------------------------------------------------------------------------
# models
# ---------------------------------------------------------------------------------------------


def synthetic_block(
    *,
    trials: int = 2,
    n: int = 24,
    m: int = 10,
    pool: int = 80,
    real: int = 30,
    d: int = 5,
    seed: int = 0,
    features: Callable[[np.random.Generator, int], np.ndarray] | None = None,
) -> TrainingBlock:
    """A small block with a learnable sim-to-real relation: disjoint pretraining rows per trial,
    pool rows no trial uses, and padded training rows (mask False, target NaN) in the last trial.

    ``features(rng, rows)`` makes the input rows for a model that reads one featurizer's columns
    only (a model's ``check_features``); by default they are uniform in [-1, 1]^d."""
    rng = np.random.Generator(np.random.PCG64(seed))
    if features is None:
        X_sim = rng.uniform(-1, 1, size=(pool, d)).astype(np.float32)
        X_real = rng.uniform(-1, 1, size=(real, d)).astype(np.float32)
    else:
        X_sim = np.asarray(features(rng, pool), dtype=np.float32)
        X_real = np.asarray(features(rng, real), dtype=np.float32)
    w = rng.normal(size=X_sim.shape[1]) / np.sqrt(X_sim.shape[1])
    y_sim = (np.sin(X_sim @ w) + 0.3).astype(np.float32)
    y_real = np.sin(X_real @ w).astype(np.float64)
    if trials * n > pool - 8:
        raise ValueError("synthetic_block: the pool must leave rows unused by every trial")
    sim_idx = np.arange(trials * n, dtype=np.int64).reshape(trials, n)
    train_idx = np.stack([rng.permutation(real)[:m] for _ in range(trials)]).astype(np.int64)
    train_mask = np.ones((trials, m), bool)
    if m >= 4:
        train_mask[-1, -2:] = False  # a split that left the last trial two rows short
    y_train = np.where(train_mask, y_real[train_idx], np.nan).astype(np.float32)
    seeds = np.asarray([1000 + 17 * t for t in range(trials)], dtype=np.int64)
    return TrainingBlock(
        X_sim=X_sim,
        y_sim=y_sim,
        sim_idx=sim_idx,
        X_real=X_real,
        train_idx=train_idx,
        train_mask=train_mask,
        y_train=y_train,
        seeds=seeds,
    )


def _replace(block: TrainingBlock, **changes: Any) -> TrainingBlock:
    fields = {
        k: getattr(block, k)
        for k in ("X_sim", "y_sim", "sim_idx", "X_real", "train_idx", "train_mask", "y_train", "seeds", "device")
    }
    fields.update(changes)
    return TrainingBlock(**fields)


def _block_for(model: Model, **kwargs: Any) -> TrainingBlock:
    """The kit's block, with the model's own kind of input rows where it declares ``check_features``."""
    return synthetic_block(features=getattr(model, "check_features", None), **kwargs)


def _fast(model: Model) -> Model:
    """A fresh copy with the model's declared check settings (``check_params``) applied."""
    params = dict(getattr(model, "check_params", None) or {})
    fresh = copy.deepcopy(model)
    return fresh.with_params(**params) if params else fresh


def _predict(model: Model, block: TrainingBlock) -> np.ndarray:
    return np.asarray(model.fit_predict(block), dtype=np.float64)


def _label(obj: Any) -> str:
    return f"{type(obj).__name__} {getattr(obj, 'name', '')!r}"


def check_model_output_shape(model: Model) -> None:
    block = _block_for(model)
    out = _predict(_fast(model), block)
    assert out.shape == (block.n_trials, len(block.X_real)), (
        f"{_label(model)}: fit_predict returned shape {out.shape}, "
        f"expected (T, M) = {(block.n_trials, len(block.X_real))}"
    )
    assert np.isfinite(out).all(), f"{_label(model)}: fit_predict returned non-finite predictions on finite inputs"


def check_model_scratch_baseline(model: Model) -> None:
    """n == 0 (no pretraining rows) is the protocol's scratch baseline: it must work."""
    block = _block_for(model)
    block = _replace(block, sim_idx=np.zeros((block.n_trials, 0), dtype=np.int64))
    out = _predict(_fast(model), block)
    assert out.shape == (block.n_trials, len(block.X_real)) and np.isfinite(out).all(), (
        f"{_label(model)}: with n == 0 fit_predict returned shape {out.shape} or non-finite values"
    )


def check_model_deterministic(model: Model) -> None:
    block = _block_for(model)
    a = _predict(_fast(model), block)
    b = _predict(_fast(model), block)
    assert np.array_equal(a, b), (
        f"{_label(model)}: the same block twice gave different predictions (max diff {np.nanmax(np.abs(a - b)):.3g}); "
        "derive all randomness from block.seeds"
    )
    reseeded = _predict(_fast(model), _replace(block, seeds=block.seeds + 1))
    assert reseeded.shape == a.shape


def check_model_respects_train_mask(model: Model) -> None:
    block = _block_for(model)
    assert (~block.train_mask).any()
    base = _predict(_fast(model), block)
    poisoned = np.where(block.train_mask, block.y_train, np.float32(1e3)).astype(np.float32)
    other_idx = np.where(block.train_mask, block.train_idx, (block.train_idx + 1) % len(block.X_real))
    out = _predict(_fast(model), _replace(block, y_train=poisoned, train_idx=other_idx))
    assert np.array_equal(base, out), (
        f"{_label(model)}: changing the targets of masked-out training rows (train_mask False) changed the "
        "predictions; use only rows where train_mask is True"
    )


def check_model_reads_only_its_rows(model: Model) -> None:
    """Test targets never reach a model (the block has none); what it must not use either: simulated
    targets outside every pretraining set, and another trial's rows (trials are independent)."""
    block = _block_for(model)
    base = _predict(_fast(model), block)
    unused = np.setdiff1d(np.arange(len(block.y_sim)), block.sim_idx.ravel())
    y_sim = block.y_sim.copy()
    y_sim[unused] = 1e3
    out = _predict(_fast(model), _replace(block, y_sim=y_sim))
    assert np.array_equal(base, out), (
        f"{_label(model)}: simulated targets outside every trial's sim_idx changed the predictions; "
        "pretrain on y_sim[sim_idx[t]] only"
    )
    # another trial's pretraining targets and fine-tuning targets: trial 0 must not move
    y_sim = block.y_sim.copy()
    y_sim[block.sim_idx[1:].ravel()] += 5.0
    y_train = block.y_train.copy()
    y_train[1:] += 5.0
    out = _predict(_fast(model), _replace(block, y_sim=y_sim, y_train=y_train))
    assert np.array_equal(base[0], out[0]), (
        f"{_label(model)}: trial 0's predictions changed when only trial 1's targets changed; trials of a block "
        "must be independent (results may not depend on how trials are grouped into units)"
    )


def check_model_non_finite_inputs(model: Model) -> None:
    block = _block_for(model)
    X_sim, X_real = block.X_sim.copy(), block.X_real.copy()
    X_sim[block.sim_idx[0, 0], 0] = np.nan
    X_real[block.train_idx[0, 0], 1] = np.inf
    X_real[-1, 0] = np.nan
    try:
        out = _predict(_fast(model), _replace(block, X_sim=X_sim, X_real=X_real))
    except S2RBenchError:
        return
    except Exception as exc:  # the contract: a one-line error for the user, or an answer
        raise AssertionError(
            f"{_label(model)}: non-finite inputs raised {type(exc).__name__}: {exc}; raise S2RBenchError with a "
            "one-line message, or impute"
        ) from exc
    assert np.isfinite(out).all(), (
        f"{_label(model)}: non-finite inputs gave non-finite predictions; raise S2RBenchError or impute"
    )


def check_model_pickles(model: Model) -> None:
    block = _block_for(model)
    fast = _fast(model)
    copy_ = pickle.loads(pickle.dumps(fast))
    assert np.array_equal(_predict(fast, block), _predict(copy_, block)), (
        f"{_label(model)}: the unpickled model predicts different numbers; executors ship models to workers"
    )


def check_model_trial_alone_equals_trial_in_block(model: Model) -> None:
    """Only for a model that declares ``trials_independent`` (the harness then runs it one trial
    per unit): the last trial of the kit's block, trained alone, predicts bit for bit what it
    predicts within the block."""
    block = _block_for(model)
    base = _predict(_fast(model), block)
    k = block.n_trials - 1
    alone = _replace(
        block,
        **{f: getattr(block, f)[k : k + 1] for f in ("sim_idx", "train_idx", "train_mask", "y_train", "seeds")},
    )
    out = _predict(_fast(model), alone)
    assert out.shape == (1, len(block.X_real)), (
        f"{_label(model)}: a block of one trial gave predictions of shape {out.shape}, expected (1, M)"
    )
    assert np.array_equal(base[k], out[0]), (
        f"{_label(model)}: trial {k} trained alone predicts other numbers than within its block "
        f"(max diff {np.nanmax(np.abs(base[k] - out[0])):.3g}); a model whose trials share work must not declare "
        "trials_independent"
    )


MODEL_CHECKS: tuple[Check, ...] = (
    check_model_output_shape,
    check_model_scratch_baseline,
    check_model_deterministic,
    check_model_respects_train_mask,
    check_model_reads_only_its_rows,
    check_model_non_finite_inputs,
    check_model_pickles,
)


# ---------------------------------------------------------------------------------------------
# featurizers
# ---------------------------------------------------------------------------------------------

_POLYMERS = ["*CC*", "*CC(C)*", "*CC(c1ccccc1)*", "*OCC*", "*CC(Cl)*", "*C(=O)OCC*"]
_MOLECULES = ["CCO", "c1ccccc1", "CC(=O)O", "CCN", "CCCl", "CC(C)=O"]
EXAMPLE_INPUTS: dict[str, tuple[list[str], list[str]]] = {
    "composition": (["Fe2O3", "NaCl", "SiO2", "GaAs", "TiO2", "MgO"], ["Qq7x"]),
    "polymer": (_POLYMERS, ["not((a polymer"]),
    "molecule": (_MOLECULES, ["C1CC(("]),
    "polymer-solvent": ([f"{p}{PART_SEP}{s}" for p, s in zip(_POLYMERS, _MOLECULES)], [f"*CC*{PART_SEP}C1CC(("]),
    "vector": (
        [f"{a:.2f},{b:.2f},{a * b:.2f}" for a, b in zip(np.linspace(-1, 1, 6), np.linspace(0, 2, 6))],
        ["0.1,abc,0.3"],
    ),
    "features": (
        [f"{a:.2f}{PART_SEP}{b:.2f}" for a, b in zip(np.linspace(-1, 1, 6), np.linspace(0, 2, 6))],
        [f"0.1{PART_SEP}x"],
    ),
}


def _examples(featurizer: Featurizer) -> tuple[list[str], list[str]]:
    valid, invalid = EXAMPLE_INPUTS.get(featurizer.input_kind, ([], []))
    valid = list(getattr(featurizer, "check_inputs", None) or valid)
    invalid = list(getattr(featurizer, "check_invalid", None) or invalid)
    if not valid:
        raise AssertionError(
            f"{_label(featurizer)}: no example inputs for input kind {featurizer.input_kind!r}; "
            "declare check_inputs (and check_invalid) on the class"
        )
    return valid, invalid


def _quiet_featurize(featurizer: Featurizer, inputs: Sequence[str]):
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return featurize_with(featurizer, inputs)


def check_featurizer_shape(featurizer: Featurizer) -> None:
    f = copy.deepcopy(featurizer)
    valid, _ = _examples(f)
    fm = _quiet_featurize(f, valid)
    names = list(f.feature_names())
    assert fm.X.shape == (len(valid), len(names)) and len(names) > 0, (
        f"{_label(featurizer)}: {len(valid)} inputs gave a matrix of shape {fm.X.shape} for {len(names)} feature names"
    )
    assert len(set(names)) == len(names), f"{_label(featurizer)}: feature names repeat"
    assert not fm.invalid, f"{_label(featurizer)}: valid example inputs were refused: {fm.invalid_inputs}"


def check_featurizer_canonicalize_idempotent(featurizer: Featurizer) -> None:
    f = copy.deepcopy(featurizer)
    valid, _ = _examples(f)
    once = f.canonicalize(valid)
    assert all(c is not None for c in once), f"{_label(featurizer)}: valid example inputs did not canonicalize: {once}"
    twice = f.canonicalize(once)
    assert list(twice) == list(once), (
        f"{_label(featurizer)}: canonicalize is not idempotent ({once} -> {twice}); overlap counts and caches "
        "key on canonical forms"
    )


def check_featurizer_invalid_input(featurizer: Featurizer) -> None:
    f = copy.deepcopy(featurizer)
    valid, invalid = _examples(f)
    if not invalid:
        return
    inputs = [valid[0], *invalid, valid[1]]
    fm = _quiet_featurize(f, inputs)
    bad = list(range(1, 1 + len(invalid)))
    assert fm.invalid == bad, (
        f"{_label(featurizer)}: invalid inputs {invalid} were not listed (invalid rows {fm.invalid})"
    )
    assert np.isnan(fm.X[bad]).all() and np.isfinite(fm.X[[0, -1]]).all(), (
        f"{_label(featurizer)}: an invalid input must be a NaN row, valid rows finite"
    )


def check_featurizer_chunking(featurizer: Featurizer) -> None:
    valid, _ = _examples(featurizer)
    whole = _quiet_featurize(copy.deepcopy(featurizer), valid).X
    half = len(valid) // 2
    parts = [_quiet_featurize(copy.deepcopy(featurizer), chunk).X for chunk in (valid[:half], valid[half:])]
    assert np.array_equal(whole, np.vstack(parts), equal_nan=True), (
        f"{_label(featurizer)}: featurizing two halves differs from the whole; a row's features may depend on that "
        "row only (the harness featurizes in chunks and caches rows)"
    )


def check_featurizer_pickles(featurizer: Featurizer) -> None:
    valid, _ = _examples(featurizer)
    f = copy.deepcopy(featurizer)
    g = pickle.loads(pickle.dumps(f))
    assert np.array_equal(_quiet_featurize(f, valid).X, _quiet_featurize(g, valid).X, equal_nan=True), (
        f"{_label(featurizer)}: the unpickled featurizer gives other features"
    )


FEATURIZER_CHECKS: tuple[Check, ...] = (
    check_featurizer_shape,
    check_featurizer_canonicalize_idempotent,
    check_featurizer_invalid_input,
    check_featurizer_chunking,
    check_featurizer_pickles,
)


# ---------------------------------------------------------------------------------------------
# samplers
# ---------------------------------------------------------------------------------------------


def sampling_context(*, seed: int = 0, trial: int = 0, pool: int = 48, d: int = 4) -> SamplingContext:
    """A pool of compositions (families by elements) with random features, and a few real training inputs."""
    cations, anions = ["Na", "K", "Li", "Mg", "Ca", "Sr"], ["Cl", "O", "S", "F"]
    inputs = tuple(f"{a}{i}{b}" for a in cations for b in anions for i in (1, 2))[:pool]
    rng = np.random.Generator(np.random.PCG64(7))
    X = rng.normal(size=(len(inputs), d))
    return SamplingContext(
        X_pool=X,
        inputs=inputs,
        X_real_train=rng.normal(size=(6, d)),
        key="0" * 64,
        seed=seed,
        trial=trial,
        input_kind="composition",
    )


def _order(sampler: Sampler, ctx: SamplingContext, n_max: int) -> np.ndarray:
    return np.asarray(copy.deepcopy(sampler).order(ctx, n_max), dtype=np.int64)


def check_sampler_valid_order(sampler: Sampler) -> None:
    ctx = sampling_context()
    for n_max in (1, 10, len(ctx.X_pool)):
        order = _order(sampler, ctx, n_max)
        head = order[:n_max]
        assert order.ndim == 1 and len(order) >= n_max and len(np.unique(head)) == n_max, (
            f"{_label(sampler)}: order(n_max={n_max}) must give at least n_max distinct pool indices, "
            f"got {order[:12]}..."
        )
        assert head.min() >= 0 and head.max() < len(ctx.X_pool), (
            f"{_label(sampler)}: order holds indices outside the pool"
        )


def check_sampler_deterministic(sampler: Sampler) -> None:
    n = 20
    a = _order(sampler, sampling_context(seed=3, trial=1), n)[:n]
    b = _order(sampler, sampling_context(seed=3, trial=1), n)[:n]
    assert np.array_equal(a, b), (
        f"{_label(sampler)}: the same (seed, trial) gave different orders; draw from ctx.bit_stream()"
    )


def check_sampler_nested(sampler: Sampler) -> None:
    ctx = sampling_context(seed=1, trial=2)
    big = _order(sampler, ctx, 32)
    for n in (4, 12):
        small = _order(sampler, ctx, n)
        assert np.array_equal(small[:n], big[:n]), (
            f"{_label(sampler)}: the first {n} rows differ between order(n_max={n}) and order(n_max=32); "
            "pretraining sets must be nested across n"
        )


def check_sampler_pickles(sampler: Sampler) -> None:
    ctx = sampling_context()
    copy_ = pickle.loads(pickle.dumps(sampler))
    assert np.array_equal(_order(sampler, ctx, 16)[:16], _order(copy_, ctx, 16)[:16]), (
        f"{_label(sampler)}: the unpickled sampler orders differently"
    )


SAMPLER_CHECKS: tuple[Check, ...] = (
    check_sampler_valid_order,
    check_sampler_deterministic,
    check_sampler_nested,
    check_sampler_pickles,
)


# ---------------------------------------------------------------------------------------------
# entry points
# ---------------------------------------------------------------------------------------------


def checks_for(obj: Any) -> tuple[Check, ...]:
    """The checks that apply to `obj` (a model, featurizer or sampler instance)."""
    if isinstance(obj, Model):
        if getattr(obj, "trials_independent", False):
            return (*MODEL_CHECKS, check_model_trial_alone_equals_trial_in_block)
        return MODEL_CHECKS
    if isinstance(obj, Featurizer):
        return FEATURIZER_CHECKS
    if isinstance(obj, Sampler):
        return SAMPLER_CHECKS
    raise TypeError(f"no checks for {type(obj).__name__}: pass a Model, Featurizer or Sampler instance")


def _run_all(obj: Any) -> None:
    for check in checks_for(obj):
        check(obj)


def check_model(model: Model) -> None:
    """Run every model check; the first broken promise raises AssertionError."""
    if not isinstance(model, Model):
        raise TypeError("check_model needs a Model instance")
    _run_all(model)


def check_featurizer(featurizer: Featurizer) -> None:
    """Run every featurizer check; the first broken promise raises AssertionError."""
    if not isinstance(featurizer, Featurizer):
        raise TypeError("check_featurizer needs a Featurizer instance")
    _run_all(featurizer)


def check_sampler(sampler: Sampler) -> None:
    """Run every sampler check; the first broken promise raises AssertionError."""
    if not isinstance(sampler, Sampler):
        raise TypeError("check_sampler needs a Sampler instance")
    _run_all(sampler)


def parametrize_with_checks(objects: Iterable[Any]):
    """A ``pytest.mark.parametrize`` over (object, check) pairs, one test per check and object,
    with ids like ``model:ridge-check_model_deterministic``."""
    import pytest

    params = []
    for obj in objects:
        kind = "model" if isinstance(obj, Model) else "featurizer" if isinstance(obj, Featurizer) else "sampler"
        for check in checks_for(obj):
            params.append(pytest.param(obj, check, id=f"{kind}:{getattr(obj, 'name', '?')}-{check.__name__}"))
    return pytest.mark.parametrize("obj, check", params)
