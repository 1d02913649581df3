"""Sample-size tick labels (s2rbench.report.axes.size_label): compact, never in exponent form; p-values as printed."""

import pytest

from s2rbench.report.axes import size_label


@pytest.mark.parametrize(
    "n, label",
    [(16, "16"), (316, "316"), (1000, "1k"), (3162, "3.2k"), (31623, "32k"), (100000, "100k"), (1.5e6, "1.5M")],
)
def test_size_labels_are_compact_and_never_exponents(n, label):
    assert size_label(n) == label


@pytest.mark.parametrize("p, text", [(3.9e-18, "<1e-4"), (2e-5, "<1e-4"), (0.0012, "0.0012"), (1.0, "1"), (None, "—")])
def test_a_tiny_p_value_is_printed_as_a_bound_never_as_zero(p, text):
    from s2rbench.report.compare import _p_value

    assert _p_value(p) == text
