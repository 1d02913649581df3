"""Property-based fuzzing of the card parser (issue 15): whatever a card holds (random TOML-able
values in random places, random keys, random bytes on disk), loading it either gives a card or
raises the project's own one-line error, never another exception."""

from __future__ import annotations

import tempfile
from pathlib import Path

import tomllib
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s2rbench.errors import S2RBenchError
from s2rbench.tasks.card import KNOWN_KEYS, load_card, parse_card

VALID = {
    "format": 1,
    "name": "fuzz",
    "version": "1.0",
    "input_kind": "features",
    "featurizer": "columns",
    "target": {"name": "y", "unit": "u"},
    "sim": {"file": "sim", "input": ["a", "b"], "target": "y"},
    "real": {"file": "real", "input": ["a", "b"], "target": "y"},
    "files": {"sim": {"path": "sim.csv"}, "real": {"path": "real.csv"}},
    "protocol": {"sizes": [4, 8], "trials": 3},
}

KEYS = sorted(set().union(*KNOWN_KEYS.values()) | {"query", "filter", "op", "value", "column"})
scalars = st.one_of(
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.sampled_from(
        [
            "https://example.org/x.csv",
            "http://127.0.0.1/x",
            "../x.csv",
            "/etc/passwd",
            "log10",
            "min",
            "==",
            "in",
            "group",
            "0" * 64,
        ]
    ),
    st.dates(),
    st.datetimes(),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), inner, max_size=4),
    ),
    max_leaves=12,
)


def _paths(d: dict, prefix=()):
    for k, v in d.items():
        yield (*prefix, k)
        if isinstance(v, dict):
            yield from _paths(v, (*prefix, k))


PATHS = list(_paths(VALID))


def _parse(raw) -> None:
    try:
        parse_card(raw)
    except S2RBenchError as exc:
        assert "\n" not in str(exc), str(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=8)), values, max_size=8))
def test_random_dicts_give_a_card_or_our_error(raw):
    _parse(raw)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(st.sampled_from(PATHS), values), min_size=1, max_size=3),
    st.lists(st.tuples(st.sampled_from(PATHS), st.sampled_from(KEYS), values), max_size=2),
)
def test_a_valid_card_with_random_values_in_random_places(changes, additions):
    import copy

    raw = copy.deepcopy(VALID)
    for path, value in changes:
        node = raw
        for k in path[:-1]:
            node = node.get(k) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node[path[-1]] = value
    for path, key, value in additions:
        node = raw
        for k in path:
            node = node.get(k) if isinstance(node, dict) else None
        if isinstance(node, dict):
            node[key] = value
    _parse(raw)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.binary(max_size=400),
        st.text(max_size=300).map(lambda s: s.encode("utf-8", "surrogatepass")),
        st.sampled_from([b"name = 1\n[[", b"\xef\xbb\xbfname = 'x'", b"a = [" * 200, b"[a]\n[a]\n"]),
    )
)
def test_random_bytes_on_disk_give_a_card_or_our_error(data):
    with tempfile.TemporaryDirectory() as d:
        p = Path(d) / "card.toml"
        p.write_bytes(data)
        try:
            load_card(p)
        except S2RBenchError as exc:
            assert "\n" not in str(exc), str(exc)


def test_the_valid_base_card_parses():
    card = parse_card(dict(VALID))
    assert card.name == "fuzz" and card.protocol.sizes == (4, 8)
    assert tomllib.loads('name = "x"') == {"name": "x"}
