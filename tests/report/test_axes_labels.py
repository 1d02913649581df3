"""Sample-size tick labels (s2rbench.report.axes.size_label): compact, never in exponent form."""

import pytest

from s2rbench.report.axes import size_label


@pytest.mark.parametrize(
    "n, label",
    [(16, "16"), (316, "316"), (1000, "1k"), (3162, "3.2k"), (31623, "32k"), (100000, "100k"), (1.5e6, "1.5M")],
)
def test_size_labels_are_compact_and_never_exponents(n, label):
    assert size_label(n) == label
