"""The check kit (`s2rbench.testing`) over every object the registry holds, and proof that each
check catches the mistake it names."""

from __future__ import annotations

import re

import numpy as np
import pytest

from s2rbench import testing
from s2rbench.errors import S2RBenchError
from s2rbench.featurizers import Featurizer
from s2rbench.models import Model
from s2rbench.registry import get_registry
from s2rbench.samplers import Sampler


def _registered():
    """Every registered model, featurizer and sampler, from the registry (not a hand-written list).

    A registry of its own, built at collection: its objects are fresh from the plugins' hooks, so
    what other tests did to the process's registry (a sweep of the 8-dimensional synthetic task
    leaves the `vector` featurizer locked to width 8) cannot change what is checked."""
    from s2rbench import registry

    registry.reset()
    try:
        reg = registry.get_registry()
        return [*reg.models.values(), *reg.featurizers.values(), *reg.samplers.values()]
    finally:
        registry.reset()


@testing.parametrize_with_checks(_registered())
def test_every_registered_object_passes_the_check_kit(obj, check):
    check(obj)


def test_the_kit_covers_every_kind_the_registry_holds():
    reg = get_registry()
    assert reg.models and reg.featurizers and reg.samplers
    assert {"ridge", "mlp"} <= set(reg.models) and "random" in reg.samplers and "magpie" in reg.featurizers


# ---------------------------------------------------------------------------------------------
# each check has teeth: a plugin that breaks the promise fails with a message naming it
# ---------------------------------------------------------------------------------------------


class _Mean(Model):
    name = "kit-mean"
    version = "1"

    def targets(self, block, t):
        return block.y_train[t][block.train_mask[t]]

    def fit_predict(self, block):
        return np.stack(
            [np.full(len(block.X_real), float(np.mean(self.targets(block, t)))) for t in range(block.n_trials)]
        )


class _IgnoresMask(_Mean):
    def targets(self, block, t):
        return block.y_train[t][np.isfinite(block.y_train[t])]


class _Noisy(_Mean):
    def fit_predict(self, block):
        return super().fit_predict(block) + np.random.default_rng().normal(size=(block.n_trials, len(block.X_real)))


class _WholePool(_Mean):
    def targets(self, block, t):
        return np.concatenate([block.y_sim, super().targets(block, t)])


class _Coupled(_Mean):
    def targets(self, block, t):
        return block.y_train[block.train_mask]


class _CrashesOnNaN(_Mean):
    def fit_predict(self, block):
        if not np.isfinite(block.X_real).all():
            raise ValueError("Input contains NaN")
        return super().fit_predict(block)


class _BlockSized(_Mean):
    """Declares independent trials, but its numbers depend on how many trials share the block."""

    trials_independent = True

    def fit_predict(self, block):
        return super().fit_predict(block) + 1e-3 * block.n_trials


class _WrongShape(_Mean):
    def fit_predict(self, block):
        return super().fit_predict(block).T


@pytest.mark.parametrize(
    "model, fragment",
    [
        (_IgnoresMask(), "masked-out training rows"),
        (_Noisy(), "same block twice gave different predictions"),
        (_WholePool(), "outside every trial's sim_idx"),
        (_Coupled(), "trials of a block must be independent"),
        (_CrashesOnNaN(), "non-finite inputs raised ValueError"),
        (_WrongShape(), "expected (T, M)"),
        (_BlockSized(), "trained alone predicts other numbers than within its block"),
    ],
)
def test_the_model_checks_catch_what_they_name(model, fragment):
    with pytest.raises(AssertionError, match=re.escape(fragment)):
        testing.check_model(model)


def test_the_trial_alone_check_applies_exactly_to_models_that_declare_independent_trials():
    assert testing.check_model_trial_alone_equals_trial_in_block not in testing.checks_for(_Mean())
    assert testing.check_model_trial_alone_equals_trial_in_block in testing.checks_for(_BlockSized())
    testing.check_model_trial_alone_equals_trial_in_block(_Mean())  # a model without shared work passes it


def test_a_correct_model_passes_and_s2rbench_errors_are_allowed_on_non_finite_inputs():
    class Refuses(_Mean):
        def fit_predict(self, block):
            if not np.isfinite(block.X_real).all():
                raise S2RBenchError("non-finite inputs: featurize again")
            return super().fit_predict(block)

    testing.check_model(_Mean())
    testing.check_model_non_finite_inputs(Refuses())


class _Upper(Featurizer):
    name = "kit-upper"
    version = "1"
    input_kind = "molecule"

    def canonicalize(self, inputs):
        return [s.upper() if "(" not in s or s.count("(") == s.count(")") else None for s in inputs]

    def featurize_canonical(self, inputs):
        return np.array([[len(s), s.count("C")] for s in inputs], dtype=float)

    def feature_names(self):
        return ["length", "carbons"]


class _NotIdempotent(_Upper):
    def canonicalize(self, inputs):
        return [None if c is None else c + "x" for c in super().canonicalize(inputs)]


class _BatchScaled(_Upper):
    def featurize_canonical(self, inputs):
        X = super().featurize_canonical(inputs)
        return X - X.mean(axis=0)


class _AcceptsAnything(_Upper):
    def canonicalize(self, inputs):
        return [s.upper() for s in inputs]


@pytest.mark.parametrize(
    "featurizer, fragment",
    [
        (_NotIdempotent(), "canonicalize is not idempotent"),
        (_BatchScaled(), "two halves differs from the whole"),
        (_AcceptsAnything(), "were not listed"),
    ],
)
def test_the_featurizer_checks_catch_what_they_name(featurizer, fragment):
    testing.check_featurizer(_Upper())
    with pytest.raises(AssertionError, match=fragment):
        testing.check_featurizer(featurizer)


class _ByN(Sampler):
    name = "kit-by-n"
    version = "1"

    def order(self, ctx, n_max):
        return np.roll(ctx.random_order(), n_max)


class _Unseeded(Sampler):
    name = "kit-unseeded"
    version = "1"

    def order(self, ctx, n_max):
        return np.random.default_rng().permutation(len(ctx.X_pool))


class _Repeats(Sampler):
    name = "kit-repeats"
    version = "1"

    def order(self, ctx, n_max):
        return np.zeros(max(n_max, 1), dtype=np.int64)


@pytest.mark.parametrize(
    "sampler, fragment",
    [
        (_ByN(), "nested across n"),
        (_Unseeded(), "same (seed, trial) gave different orders"),
        (_Repeats(), "distinct pool indices"),
    ],
)
def test_the_sampler_checks_catch_what_they_name(sampler, fragment):
    with pytest.raises(AssertionError, match=re.escape(fragment)):
        testing.check_sampler(sampler)


def test_checks_leave_the_registered_object_untouched():
    """Stateful featurizers (vector remembers its width) are checked on copies."""
    vector = next(o for o in _registered() if getattr(o, "name", "") == "vector")
    vector.canonicalize(["0.1,0.2,0.3"])  # the state a sweep leaves: width 3
    before = dict(vars(vector))
    for check in testing.FEATURIZER_CHECKS:
        check(vector)
    assert vars(vector) == before
