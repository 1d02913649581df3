import numpy as np
import pandas as pd

from s2rbench.sweep import protocol as proto

KEY = "ab" * 32


def test_permutation_is_a_permutation_and_deterministic():
    p1 = proto.permutation(1000, KEY, 0, 3, "sim-order")
    p2 = proto.permutation(1000, KEY, 0, 3, "sim-order")
    assert np.array_equal(p1, p2)
    assert np.array_equal(np.sort(p1), np.arange(1000))
    assert not np.array_equal(p1, proto.permutation(1000, KEY, 0, 4, "sim-order"))
    assert not np.array_equal(p1, proto.permutation(1000, KEY, 1, 3, "sim-order"))
    assert not np.array_equal(p1, proto.permutation(1000, "cd" * 32, 0, 3, "sim-order"))


def test_permutation_is_frozen_across_library_versions():
    # A regression guard: these indices come from PCG64's raw stream, which NumPy guarantees to keep.
    # If this fails, every stored split of every result would silently change: do not update it lightly.
    assert proto.permutation(10, KEY, 0, 0, "real-split").tolist() == FROZEN


FROZEN = [7, 0, 2, 5, 8, 1, 6, 3, 9, 4]  # recorded once; see the test above


def test_frozen_matches_raw_bits():
    raw = np.random.PCG64(np.random.SeedSequence([0, 0, 1, *[0xABABABAB] * 4])).random_raw(10)
    assert np.argsort(np.asarray(raw, dtype=np.uint64), kind="stable").tolist() == FROZEN


def test_real_split_disjoint_and_nested():
    s = proto.real_split(200, KEY, 0, 1, 0.2)
    assert len(s.test) == 40
    assert set(s.test).isdisjoint(s.train_order)
    assert len(s.test) + len(s.train_order) == 200
    assert np.array_equal(s.train(30), s.train(60)[:30])  # nested m-subsets
    # the test split does not depend on m, and is unchanged by another stream's use
    assert np.array_equal(s.test, proto.real_split(200, KEY, 0, 1, 0.2).test)


def test_test_split_is_shuffled_not_sorted_prefix():
    s = proto.real_split(1000, KEY, 0, 0, 0.2)
    assert not np.array_equal(s.test, np.arange(200))
    assert s.test.min() < 100 and s.test.max() > 900


def test_group_split_holds_out_whole_groups():
    groups = np.repeat([f"g{i}" for i in range(20)], 10)
    s = proto.real_split(200, KEY, 0, 0, 0.2, groups=groups)
    test_groups = set(groups[s.test])
    train_groups = set(groups[s.train_order])
    assert test_groups.isdisjoint(train_groups)
    assert len(s.test) >= 40


def test_sim_order_nested_across_n():
    order = proto.sim_order(500, KEY, 0, 2)
    first_50, first_100 = order[:50], order[:100]
    assert set(first_50) <= set(first_100)


def test_fingerprint_sensitive_to_content():
    a = pd.DataFrame({"input": ["x", "y"], "target": [1.0, 2.0]})
    b = pd.DataFrame({"input": ["x", "y"], "target": [1.0, 2.5]})
    assert proto.fingerprint(a) == proto.fingerprint(a.copy())
    assert proto.fingerprint(a) != proto.fingerprint(b)


def test_trial_seeds_differ_by_trial():
    seeds = {proto.trial_seed(KEY, 0, t) for t in range(50)}
    assert len(seeds) == 50
