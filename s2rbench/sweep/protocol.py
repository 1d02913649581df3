"""Public alias of `s2rbench.contracts.protocol`: the protocol's pure functions (splits, nested
subsets, fingerprints) moved to the contracts layer, because the authoring tools of `tasks` preview
the very splits a run will make, and a lower layer must not import the sweep. The alias *is* that
module (one set of globals), so patching either name reaches the same functions."""

import sys

from ..contracts import protocol as _protocol

sys.modules[__name__] = _protocol
