"""Public alias of `s2rbench.registry` (the import path plugin authors and tests have used).

The alias *is* the registry module (one set of globals), so ``s2rbench.plugins.reset()`` and
``s2rbench.registry.reset()`` forget the same state.
"""

import sys

from . import registry as _registry

sys.modules[__name__] = _registry
